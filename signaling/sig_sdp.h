/* sig_sdp: the WebRTC SDP the server reads (browsers' offers and answers)
 * and writes (answers to publish offers, offers to subscribers).
 * Pure: no GLib main loop, no lws, no logging; any thread. Control plane
 * only, so it may allocate (sig_sdp is big: allocate it with sig_sdp_new). */
#ifndef SIG_SDP_H
#define SIG_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIG_SDP_MAX_MEDIA 64
#define SIG_SDP_MAX_CODECS 64
#define SIG_SDP_MAX_FB 8
#define SIG_SDP_MAX_EXT 32
#define SIG_SDP_MAX_SSRC 8
#define SIG_SDP_MAX_CAND 32
#define SIG_SDP_MAX_RID 4 /* simulcast encodings per section (RFC 8853) */

typedef enum { SIG_DIR_SENDRECV = 0, SIG_DIR_SENDONLY, SIG_DIR_RECVONLY, SIG_DIR_INACTIVE } sig_sdp_dir;

typedef struct {
  uint8_t pt;
  char name[32]; /* "opus", "VP8", "H264", "rtx", ... as written */
  uint32_t clock;
  uint8_t channels; /* 0 if absent */
  char fmtp[256];   /* parameters after "a=fmtp:PT ", "" if none */
  uint8_t nfb;
  char fb[SIG_SDP_MAX_FB][32]; /* "nack", "nack pli", "ccm fir", "goog-remb", "transport-cc" */
} sig_sdp_codec;

typedef struct {
  uint8_t id;
  char uri[128];
} sig_sdp_ext;

typedef struct {
  char kind[16];    /* "audio", "video", "application" */
  uint16_t port;    /* 0 = rejected section, unless bundle_only */
  bool bundle_only; /* a=bundle-only (RFC 8843): port 0 but part of the BUNDLE group */
  char proto[40];
  char mid[32];
  sig_sdp_dir dir;
  uint8_t ncodecs;
  sig_sdp_codec codecs[SIG_SDP_MAX_CODECS]; /* in m= line order */
  uint8_t nexts;
  sig_sdp_ext exts[SIG_SDP_MAX_EXT];
  uint8_t nssrc;
  uint32_t ssrcs[SIG_SDP_MAX_SSRC]; /* every a=ssrc id, in order of appearance */
  uint32_t fid_primary, fid_rtx;    /* a=ssrc-group:FID, 0 if none */
  uint8_t nrids;                    /* a=rid lines (RFC 8851) with direction send */
  char rids[SIG_SDP_MAX_RID][16];
  /* a=simulcast:send (RFC 8853): the first alternative of each layer, in order */
  uint8_t nsim;
  char sim[SIG_SDP_MAX_RID][16];
  bool sim_paused[SIG_SDP_MAX_RID]; /* "~": the layer starts paused */
  char cname[64];
  char msid_stream[64], msid_track[64]; /* a=msid (or a=ssrc:.. msid:) */
  bool rtcp_mux, rtcp_rsize;
  /* Data sections (RFC 8841): a=sctp-port (0 = absent) and a=max-message-size
   * (has_max_message_size false = absent, which means 64 KiB; 0 = no limit). */
  uint16_t sctp_port;
  bool has_max_message_size;
  uint32_t max_message_size;
  /* Transport attributes; media-level, else copied from session level. */
  char ice_ufrag[64], ice_pwd[128];
  char fp_alg[16]; /* "sha-256" */
  char fingerprint[128];
  char setup[16]; /* "actpass", "active", "passive" */
  uint8_t ncand;
  char cand[SIG_SDP_MAX_CAND][256]; /* "candidate:..." without "a=" */
} sig_sdp_media;

typedef struct {
  uint8_t nbundle;
  char bundle[SIG_SDP_MAX_MEDIA][32]; /* mids of a=group:BUNDLE */
  uint8_t nmedia;
  sig_sdp_media media[SIG_SDP_MAX_MEDIA];
} sig_sdp;

sig_sdp *sig_sdp_new(void); /* zeroed; free with free() */

/* Parses text (CRLF or LF). Returns 0, or -EINVAL with a reason in err
 * naming the line ("line 7: bad m= line"). Unknown attributes are ignored;
 * limits beyond the array sizes are errors, never overflows. Also refused:
 * an ice-ufrag or ice-pwd outside RFC 8839 (4-256 and 22-256 ice-chars) and
 * a candidate whose port is above 65535. */
int sig_sdp_parse(const char *text, size_t len, sig_sdp *out, char *err, size_t errlen);

/* An answer to our offer must keep the offer's sections: the same count and,
 * section by section, the offer's mid (offer_mids[i], borrowed; RFC 8829
 * 5.3.1). 0, or -EINVAL with the first difference in err (for bad_sdp). */
int sig_sdp_check_answer_mids(const sig_sdp *answer, const char *const *offer_mids, size_t n, char *err,
                              size_t errlen);

/* ---- writing ---- */

/* Our side of the transport, shared by every section of one peer connection. */
typedef struct {
  const char *ice_ufrag, *ice_pwd;
  const char *fingerprint;  /* sha-256, "AB:CD:.." */
  const char *setup;        /* "passive" in answers, "actpass" in offers */
  const char *const *cands; /* NULL-terminated "candidate:..." values, may be NULL */
  uint64_t session_id, session_version;
  bool ice_lite; /* a=ice-lite at session level (RFC 8839 5.3) */
} sig_sdp_local;

/* What the server accepted from a publisher's offer, per m-section. */
typedef struct {
  bool accepted; /* false: rejected (port 0) */
  char kind[16];
  char mid[32];
  sig_sdp_codec codec;  /* the codec chosen (first in our preference the offer has) */
  sig_sdp_codec codec2; /* video: H.264 (pm=1) as well, when offered and codec is VP8; pt 0 = none */
  uint8_t ext_id_mid, ext_id_abs_send_time, ext_id_audio_level; /* ids in the offer, 0 = absent */
  uint32_t ssrc;     /* publisher's media ssrc (FID primary or first a=ssrc), 0 = unknown */
  uint32_t rtx_ssrc; /* its RTX ssrc (FID), 0 = unknown */
  char msid_track[64];
  /* Video: RTX payload types (RFC 4588) for codec and codec2, 0 = none. */
  uint8_t rtx_pt, rtx_pt2;
  uint8_t ext_id_rid, ext_id_rrid, ext_id_twcc; /* ids in the offer, 0 = absent or declined */
  /* Simulcast (RFC 8853) accepted: the layers in a=simulcast order (lowest
   * first by convention), paused ones marked. 0 = a single encoding. */
  uint8_t nrids;
  char rids[SIG_SDP_MAX_RID][16];
  bool rid_paused[SIG_SDP_MAX_RID];
} sig_sdp_accepted;

/* Answer to a browser's publish offer: per section, audio takes opus/48000/2
 * (fmtp minptime=10;useinbandfec=1), video takes VP8 and also H264
 * packetization-mode=1 when offered, each with its rtx; rtcp-fb nack, nack
 * pli, ccm fir, goog-remb, transport-cc; red, ulpfec and other codecs
 * declined; extensions mid, abs-send-time, ssrc-audio-level, transport-wide
 * cc, rtp-stream-id and repaired-rtp-stream-id kept with the offer's ids;
 * simulcast (a=rid send + a=simulcast send) answered with a=rid recv and
 * a=simulcast recv when the offer has the rid extension; direction recvonly for a
 * sendonly/sendrecv section, inactive otherwise; data sections rejected.
 * acc[i] is filled for every offer section (nacc = offer->nmedia).
 * Returns a malloc'ed SDP (caller frees) or NULL with err set (no usable
 * section, missing ICE credentials or fingerprint, no BUNDLE...). */
char *sig_sdp_write_answer(const sig_sdp *offer, const sig_sdp_local *local, sig_sdp_accepted *acc, char *err,
                           size_t errlen);

/* One m-section of an offer to a subscriber. */
typedef struct {
  const char *kind; /* "audio", "video", or "application": the data section (mid, sctp_port and
                       max_message_size only; never closed) */
  const char *mid;
  bool active; /* false: a=inactive (no track yet: the probe section) */
  bool closed; /* port 0, outside BUNDLE: the track is gone, the m-line free to recycle */
  uint32_t ssrc;
  const char *cname;
  const char *msid_stream; /* the publishing participant's id */
  const char *msid_track;
  sig_sdp_codec codec;  /* our payload type and parameters */
  sig_sdp_codec codec2; /* second codec (pt 0 = none) */
  /* Video: RFC 4588 retransmissions, rtx payload types for codec and codec2
   * and the rtx ssrc (a=ssrc-group:FID); 0 = none. */
  uint8_t rtx_pt, rtx_pt2;
  uint32_t rtx_ssrc;
  uint16_t sctp_port;        /* application */
  uint32_t max_message_size; /* application */
} sig_sdp_offer_section;

/* Offer to a subscriber: BUNDLE of all open mids, setup actpass, sendonly or
 * inactive sections with a=ssrc cname/msid, closed ones with port 0,
 * rtcp-mux, rtcp-rsize, rtcp-fb nack, nack pli, ccm fir for video and
 * transport-cc for all, rtx with its FID group for video, and the
 * extensions and payload types of sfu_const.h. With n == 0 the
 * offer holds a single inactive audio section (mid "probe") so ICE and DTLS
 * can start before anyone publishes. Returns malloc'ed SDP or NULL. */
char *sig_sdp_write_offer(const sig_sdp_local *local, const sig_sdp_offer_section *secs, size_t n, char *err,
                          size_t errlen);

#endif
