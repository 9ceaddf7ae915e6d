/* tp_dcep: the wire formats of WebRTC data channels that sit on SCTP:
 * DCEP messages (RFC 8832: DATA_CHANNEL_OPEN, DATA_CHANNEL_ACK), the
 * payload protocol ids (RFC 8831), and reassembly of a message that SCTP
 * delivers in pieces, capped at the size we advertise.
 * Pure: no usrsctp, no GLib, no logging, no globals; any thread. The
 * reassembly buffer is the only allocation (malloc), at most `max` bytes. */
#ifndef TP_DCEP_H
#define TP_DCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
  TP_PPID_DCEP = 50,
  TP_PPID_STRING = 51,
  TP_PPID_BINARY = 53,
  TP_PPID_STRING_EMPTY = 56, /* the payload is one ignored byte */
  TP_PPID_BINARY_EMPTY = 57,
};

enum { TP_DCEP_ACK = 0x02, TP_DCEP_OPEN = 0x03 };

/* Channel types (RFC 8832 section 5.1). */
enum {
  TP_DC_RELIABLE = 0x00,
  TP_DC_PARTIAL_REXMIT = 0x01,
  TP_DC_PARTIAL_TIMED = 0x02,
  TP_DC_UNORDERED = 0x80, /* flag on any of the above */
};

/* A parsed DATA_CHANNEL_OPEN; label and protocol point into the input. */
typedef struct {
  uint8_t channel_type;
  uint16_t priority;
  uint32_t reliability; /* retransmissions or milliseconds, per type */
  const uint8_t *label;
  uint16_t label_len;
  const uint8_t *protocol;
  uint16_t protocol_len;
} tp_dcep_open;

/* Returns 0, or -EINVAL: not an OPEN, shorter than its 12-byte header, label
 * or protocol running past the end, or an unknown channel type. Bytes after
 * the protocol are ignored (RFC 8832 leaves room for extensions). */
int tp_dcep_parse_open(const uint8_t *buf, size_t len, tp_dcep_open *o);

/* Writes an OPEN into out; returns its length, or 0 if cap is too small or
 * a length does not fit 16 bits. */
size_t tp_dcep_build_open(uint8_t *out, size_t cap, uint8_t channel_type, uint32_t reliability,
                          const char *label, const char *protocol);

/* Message reassembly for one association: SCTP interleaves no messages
 * (SCTP_FRAGMENT_INTERLEAVE 0), so one buffer serves all streams. */
typedef struct {
  size_t max;   /* largest message accepted (our a=max-message-size) */
  uint8_t *buf; /* owned, allocated on the first partial message */
  size_t len;
  uint16_t stream;
  uint32_t ppid;
  bool partial;    /* pieces of a message are in buf */
  bool discarding; /* the current message went over max: drop until its end */
} tp_dcep_reasm;

enum { TP_REASM_MORE = 0, TP_REASM_DONE = 1 };

/* One piece as SCTP delivered it (eor: the last piece of its message).
 * TP_REASM_DONE: the whole message is in *msg / *msg_len (borrowed, valid
 * until the next call; the piece itself when it was whole). TP_REASM_MORE:
 * waiting for more. -EMSGSIZE: the message is over max and is dropped (once
 * per message; its remaining pieces are swallowed). -ENOMEM: no buffer. A
 * piece of another stream or PPID while one was partial drops the partial
 * one (SCTP would not do that; a broken peer might). */
int tp_dcep_reasm_push(tp_dcep_reasm *r, uint16_t stream, uint32_t ppid, const uint8_t *data, size_t len,
                       bool eor, const uint8_t **msg, size_t *msg_len);
void tp_dcep_reasm_free(tp_dcep_reasm *r); /* frees buf; r can be reused */

#endif
