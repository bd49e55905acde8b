/* pb.c — the protobuf wire-format reader of pb.h: varints, tags, fixed-width values,
 * length-delimited payloads and repeated scalars (packed or not).
 *
 * Every read checks the bytes left in the current message ([pos, end)) before touching
 * them; a LEN length is compared with end - pos, never added to pos first, so it cannot
 * overflow. Offsets in messages count from the start of the outermost buffer.
 */
#include "pb.h"

#include "internal.h"

tmlp_pb_reader tmlp_pb_reader_init(const uint8_t *buf, size_t len)
{
    tmlp_pb_reader r = {buf, 0, len};
    return r;
}

tmlp_pb_reader tmlp_pb_reader_sub(const tmlp_pb_reader *r, const tmlp_pb_field *f)
{
    tmlp_pb_reader s = {r->buf, f->data, f->data + f->len};
    return s;
}

/* value = sum of (byte_k & 0x7f) << 7k for k = 0.. until a byte < 0x80. The tenth byte
 * (k = 9) carries bit 63 only, so it must be 0 or 1. */
tmlp_status tmlp_pb_varint(const uint8_t *buf, size_t pos, size_t end, uint64_t *v,
                           size_t *next, tmlp_error *err)
{
    uint64_t x = 0;
    for (unsigned k = 0; k < 10; k++) {
        if (pos + k >= end)
            return tmlp_error_set(err, TMLP_ERR_FORMAT, "byte %zu: varint runs past the end (at byte %zu)",
                                  pos, end);
        const uint8_t b = buf[pos + k];
        if (k == 9 && b > 1)
            return tmlp_error_set(err, TMLP_ERR_FORMAT, "byte %zu: varint %s", pos,
                                  b & 0x80 ? "longer than 10 bytes" : "exceeds 64 bits");
        x |= (uint64_t)(b & 0x7f) << (7 * k);
        if (!(b & 0x80)) {
            *v = x;
            *next = pos + k + 1;
            return TMLP_OK;
        }
    }
    /* unreachable: the tenth byte either ends the varint or fails the check above */
    return tmlp_error_set(err, TMLP_ERR_FORMAT, "byte %zu: varint longer than 10 bytes", pos);
}

/* The value of a field whose tag has been read: r->pos is just past the tag. */
static tmlp_status pb_value(tmlp_pb_reader *r, tmlp_pb_field *f, tmlp_error *err)
{
    const size_t left = r->end - r->pos;
    switch (f->wire) {
    case TMLP_PB_VARINT:
        return tmlp_pb_varint(r->buf, r->pos, r->end, &f->value, &r->pos, err);
    case TMLP_PB_I64:
    case TMLP_PB_I32: {
        const size_t n = f->wire == TMLP_PB_I64 ? 8 : 4;
        if (left < n)
            return tmlp_error_set(err, TMLP_ERR_FORMAT,
                                  "byte %zu: field %u needs %zu bytes, %zu are left", f->offset,
                                  f->number, n, left);
        f->value = n == 8 ? tmlp_pb_le64(r->buf + r->pos) : tmlp_pb_le32(r->buf + r->pos);
        r->pos += n;
        return TMLP_OK;
    }
    case TMLP_PB_LEN: {
        uint64_t len;
        size_t data;
        tmlp_status s = tmlp_pb_varint(r->buf, r->pos, r->end, &len, &data, err);
        if (s != TMLP_OK) return s;
        if (len > r->end - data)
            return tmlp_error_set(err, TMLP_ERR_FORMAT,
                                  "byte %zu: field %u has length %llu, only %zu bytes are left",
                                  f->offset, f->number, (unsigned long long)len, r->end - data);
        f->data = data;
        f->len = (size_t)len;
        r->pos = data + (size_t)len;
        return TMLP_OK;
    }
    case TMLP_PB_SGROUP:
    case TMLP_PB_EGROUP:
        return tmlp_error_set(err, TMLP_ERR_FORMAT,
                              "byte %zu: field %u uses the group wire type %d, which ONNX never uses",
                              f->offset, f->number, (int)f->wire);
    }
    return tmlp_error_set(err, TMLP_ERR_FORMAT, "byte %zu: field %u has invalid wire type %d",
                          f->offset, f->number, (int)f->wire);
}

tmlp_status tmlp_pb_next(tmlp_pb_reader *r, tmlp_pb_field *f, tmlp_error *err)
{
    uint64_t tag;
    f->offset = r->pos;
    f->value = 0;
    f->data = f->len = 0;
    tmlp_status s = tmlp_pb_varint(r->buf, r->pos, r->end, &tag, &r->pos, err);
    if (s != TMLP_OK) return s;
    if ((tag >> 3) == 0 || (tag >> 3) > TMLP_PB_MAX_FIELD)
        return tmlp_error_set(err, TMLP_ERR_FORMAT, "byte %zu: invalid field number %llu",
                              f->offset, (unsigned long long)(tag >> 3));
    f->number = (uint32_t)(tag >> 3);
    f->wire = (tmlp_pb_wire)(tag & 7);
    return pb_value(r, f, err);
}

static tmlp_pb_wire pb_scalar_wire(tmlp_pb_scalar kind)
{
    return kind == TMLP_PB_SCALAR_VARINT ? TMLP_PB_VARINT
         : kind == TMLP_PB_SCALAR_FIXED32 ? TMLP_PB_I32 : TMLP_PB_I64;
}

/* Number of varints in a packed payload; each must be complete and valid. */
static tmlp_status pb_count_varints(const tmlp_pb_reader *p, size_t *count, tmlp_error *err)
{
    size_t n = 0;
    for (size_t pos = p->pos; pos < p->end; n++) {
        uint64_t v;
        tmlp_status s = tmlp_pb_varint(p->buf, pos, p->end, &v, &pos, err);
        if (s != TMLP_OK) return s;
    }
    *count = n;
    return TMLP_OK;
}

tmlp_status tmlp_pb_rep_begin(const tmlp_pb_reader *r, const tmlp_pb_field *f,
                              tmlp_pb_scalar kind, tmlp_pb_rep *it, size_t *count,
                              tmlp_error *err)
{
    it->kind = kind;
    it->single = 0;
    it->r = tmlp_pb_reader_init(r->buf, 0);
    if (f->wire == pb_scalar_wire(kind)) {
        it->single = f->value;
        it->left = 1;
    } else if (f->wire == TMLP_PB_LEN) {
        it->r = tmlp_pb_reader_sub(r, f);
        if (kind == TMLP_PB_SCALAR_VARINT) {
            tmlp_status s = pb_count_varints(&it->r, &it->left, err);
            if (s != TMLP_OK) return s;
        } else {
            const size_t w = kind == TMLP_PB_SCALAR_FIXED32 ? 4 : 8;
            if (f->len % w)
                return tmlp_error_set(err, TMLP_ERR_FORMAT,
                                      "byte %zu: packed field %u has %zu bytes, not a multiple of %zu",
                                      f->offset, f->number, f->len, w);
            it->left = f->len / w;
        }
    } else {
        return tmlp_error_set(err, TMLP_ERR_FORMAT,
                              "byte %zu: repeated field %u has wire type %d, expected %d or 2 (packed)",
                              f->offset, f->number, (int)f->wire, (int)pb_scalar_wire(kind));
    }
    if (count) *count = it->left;
    return TMLP_OK;
}

bool tmlp_pb_rep_next(tmlp_pb_rep *it, uint64_t *v)
{
    if (it->left == 0) return false;
    it->left--;
    if (!tmlp_pb_more(&it->r)) { /* unpacked: the one element */
        *v = it->single;
        return true;
    }
    tmlp_pb_reader *p = &it->r;
    if (it->kind == TMLP_PB_SCALAR_VARINT) {
        /* validated by tmlp_pb_rep_begin, so this cannot fail */
        if (tmlp_pb_varint(p->buf, p->pos, p->end, v, &p->pos, NULL) != TMLP_OK) return false;
    } else if (it->kind == TMLP_PB_SCALAR_FIXED32) {
        *v = tmlp_pb_le32(p->buf + p->pos);
        p->pos += 4;
    } else {
        *v = tmlp_pb_le64(p->buf + p->pos);
        p->pos += 8;
    }
    return true;
}
