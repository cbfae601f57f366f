/*
 * protobuf_writer.c - varints and length-delimited fields.
 */
#include "protobuf_writer.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_LENGTH_DELIMITED = 2 };

void zinst_pb_init(struct zinst_pb *pb) {
  memset(pb, 0, sizeof *pb);
}

void zinst_pb_free(struct zinst_pb *pb) {
  free(pb->bytes);
  memset(pb, 0, sizeof *pb);
}

void zinst_pb_clear(struct zinst_pb *pb) {
  pb->size = 0;
}

static bool reserve(struct zinst_pb *pb, size_t more) {
  if (pb->failed)
    return false;
  if (pb->size + more <= pb->capacity)
    return true;
  size_t capacity = pb->capacity ? pb->capacity : 256;
  while (capacity < pb->size + more) {
    if (capacity > SIZE_MAX / 2) {
      pb->failed = true;
      return false;
    }
    capacity *= 2;
  }
  unsigned char *bytes = realloc(pb->bytes, capacity);
  if (!bytes) {
    pb->failed = true;
    return false;
  }
  pb->bytes = bytes;
  pb->capacity = capacity;
  return true;
}

static void varint(struct zinst_pb *pb, uint64_t value) {
  if (!reserve(pb, 10))
    return;
  do {
    unsigned char byte = value & 0x7f;
    value >>= 7;
    if (value)
      byte |= 0x80;
    pb->bytes[pb->size++] = byte;
  } while (value);
}

static void tag(struct zinst_pb *pb, uint32_t field, unsigned wire_type) {
  varint(pb, ((uint64_t)field << 3) | wire_type);
}

void zinst_pb_uint(struct zinst_pb *pb, uint32_t field, uint64_t value) {
  if (value == 0)
    return;
  tag(pb, field, WIRE_VARINT);
  varint(pb, value);
}

void zinst_pb_int(struct zinst_pb *pb, uint32_t field, int64_t value) {
  zinst_pb_uint(pb, field, (uint64_t)value);
}

void zinst_pb_bytes(struct zinst_pb *pb, uint32_t field, const void *data, size_t size) {
  tag(pb, field, WIRE_LENGTH_DELIMITED);
  varint(pb, size);
  if (size == 0 || !reserve(pb, size))
    return;
  memcpy(pb->bytes + pb->size, data, size);
  pb->size += size;
}

void zinst_pb_string(struct zinst_pb *pb, uint32_t field, const char *text) {
  zinst_pb_bytes(pb, field, text, strlen(text));
}

void zinst_pb_message(struct zinst_pb *pb, uint32_t field, const struct zinst_pb *message) {
  if (message->failed) {
    pb->failed = true;
    return;
  }
  zinst_pb_bytes(pb, field, message->bytes, message->size);
}

void zinst_pb_packed_uints(struct zinst_pb *pb, uint32_t field, const uint64_t *values,
                           size_t count) {
  if (count == 0)
    return;
  size_t length = 0;
  for (size_t i = 0; i < count; i++) {
    uint64_t v = values[i];
    do {
      length++;
      v >>= 7;
    } while (v);
  }
  tag(pb, field, WIRE_LENGTH_DELIMITED);
  varint(pb, length);
  for (size_t i = 0; i < count; i++)
    varint(pb, values[i]);
}

void zinst_pb_append(struct zinst_pb *pb, const struct zinst_pb *fields) {
  if (fields->failed) {
    pb->failed = true;
    return;
  }
  if (fields->size == 0 || !reserve(pb, fields->size))
    return;
  memcpy(pb->bytes + pb->size, fields->bytes, fields->size);
  pb->size += fields->size;
}
