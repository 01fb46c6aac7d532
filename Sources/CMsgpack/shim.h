// msgpack-c (Debian's libmsgpack-dev, pkg-config name `msgpack`): the reference decoder.
#include <msgpack.h>
