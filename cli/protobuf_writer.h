/*
 * protobuf_writer.h - the protocol buffers wire encoding, enough to write
 * messages whose schema the caller knows (profile.proto for pprof).
 *
 * Messages are built bottom-up: a nested message is encoded into its own
 * buffer, then appended to its parent as a length-delimited field. Integers
 * are varints (wire type 0), strings, bytes and messages are
 * length-delimited (wire type 2), repeated integers are written packed.
 */
#ifndef ZINST_PROTOBUF_WRITER_H
#define ZINST_PROTOBUF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zinst_pb { /* owns bytes */
  unsigned char *bytes;
  size_t size;
  size_t capacity;
  bool failed; /* out of memory: later writes are dropped, the message is unusable */
};

/* An empty buffer; nothing is allocated until the first write. */
void zinst_pb_init(struct zinst_pb *pb);
/* Release the bytes and zero the buffer. */
void zinst_pb_free(struct zinst_pb *pb);
/* Forget the contents, keep the allocation (for a scratch buffer reused per message). */
void zinst_pb_clear(struct zinst_pb *pb);

/* Field `field` as a varint; proto3 omits zero values, and so does this. */
void zinst_pb_uint(struct zinst_pb *pb, uint32_t field, uint64_t value);
/* int64 fields: negative values as two's complement varints (ten bytes). */
void zinst_pb_int(struct zinst_pb *pb, uint32_t field, int64_t value);
/* A length-delimited field: `size` bytes at `data` (a string, bytes or an encoded message). */
void zinst_pb_bytes(struct zinst_pb *pb, uint32_t field, const void *data, size_t size);
/* A string field (the NUL is not written). Written even when empty: repeated
 * string fields such as pprof's string_table need their empty entries. */
void zinst_pb_string(struct zinst_pb *pb, uint32_t field, const char *text);
/* An encoded message as a field of this one. */
void zinst_pb_message(struct zinst_pb *pb, uint32_t field, const struct zinst_pb *message);
/* A repeated integer field, packed: one length-delimited run of varints. */
void zinst_pb_packed_uints(struct zinst_pb *pb, uint32_t field, const uint64_t *values,
                           size_t count);

/* Append `fields`, already encoded fields of this same message, as they are. */
void zinst_pb_append(struct zinst_pb *pb, const struct zinst_pb *fields);

#endif /* ZINST_PROTOBUF_WRITER_H */
