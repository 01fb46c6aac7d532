"""A small Django library app for the end-to-end suite: ORM (sqlite), cache (LocMem), templates."""
