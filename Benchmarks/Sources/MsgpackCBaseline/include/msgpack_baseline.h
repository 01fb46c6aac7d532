// The msgpack-c side of the decoder benchmark: msgpack_unpack_next into a zone, then a walk of
// every object, written in C so that the baseline pays no Swift overhead.
#ifndef MSGPACK_BASELINE_H
#define MSGPACK_BASELINE_H
#include <stddef.h>
#include <stdint.h>

/// Unpacks `data` with msgpack_unpack_next (a fresh zone, freed before returning) and visits every
/// object: every array element, every map key and value. Returns 0 on success, -1 if msgpack-c
/// rejects the input or leaves bytes unread. `checksum` sums ints, float bits and str/bin/ext
/// sizes; `objects` counts the objects visited.
int msgpack_baseline_decode(const char *data, size_t len, uint64_t *checksum, uint64_t *objects);

#endif
