#include "msgpack_baseline.h"
#include <msgpack.h>
#include <string.h>

static void walk(const msgpack_object *o, uint64_t *sum, uint64_t *objects) {
    *objects += 1;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: break;
    case MSGPACK_OBJECT_BOOLEAN: *sum += o->via.boolean; break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *sum += o->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *sum += (uint64_t)o->via.i64; break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: {
        uint64_t bits;
        memcpy(&bits, &o->via.f64, sizeof bits);
        *sum += bits;
        break;
    }
    case MSGPACK_OBJECT_STR: *sum += o->via.str.size; break;
    case MSGPACK_OBJECT_BIN: *sum += o->via.bin.size; break;
    case MSGPACK_OBJECT_EXT: *sum += o->via.ext.size; break;
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++) walk(&o->via.array.ptr[i], sum, objects);
        break;
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            walk(&o->via.map.ptr[i].key, sum, objects);
            walk(&o->via.map.ptr[i].val, sum, objects);
        }
        break;
    }
}

int msgpack_baseline_decode(const char *data, size_t len, uint64_t *checksum, uint64_t *objects) {
    msgpack_unpacked result;
    msgpack_unpacked_init(&result);
    size_t off = 0;
    int rc = -1;
    if (msgpack_unpack_next(&result, data, len, &off) == MSGPACK_UNPACK_SUCCESS && off == len) {
        walk(&result.data, checksum, objects);
        rc = 0;
    }
    msgpack_unpacked_destroy(&result);
    return rc;
}
