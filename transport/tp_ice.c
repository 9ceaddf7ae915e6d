/* tp_ice: libnice agent set-up and candidate strings.
 * Agent: RFC 5245, full ICE, trickle (consent: see tp_ice_agent_new); UPnP and
 * ICE-TCP off; host candidates only on the addresses we add ourselves
 * (libnice ignores loopback unless it is added explicitly). */
#define G_LOG_DOMAIN "tp"

#include "tp_ice.h"

#include <errno.h>
#include <nice/interfaces.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int add_address(NiceAgent *agent, const char *ip, char *err, size_t errlen) {
  NiceAddress a;
  nice_address_init(&a);
  if (!nice_address_set_from_string(&a, ip)) {
    snprintf(err, errlen, "bad local address \"%s\"", ip);
    return -EINVAL;
  }
  if (!nice_agent_add_local_address(agent, &a)) {
    snprintf(err, errlen, "cannot use local address %s", ip);
    return -EINVAL;
  }
  return 0;
}

/* Every non-loopback IPv4 interface address, then 127.0.0.1. */
static int add_default_addresses(NiceAgent *agent, char *err, size_t errlen) {
  GList *ips = nice_interfaces_get_local_ips(FALSE);
  int rc = 0;
  for (GList *l = ips; l && rc == 0; l = l->next) {
    const char *ip = l->data;
    if (strchr(ip, ':') || g_str_has_prefix(ip, "127.")) continue; /* IPv6, loopback */
    rc = add_address(agent, ip, err, errlen);
  }
  g_list_free_full(ips, g_free);
  return rc ? rc : add_address(agent, "127.0.0.1", err, errlen);
}

int tp_ice_agent_new(NiceAgent **out, guint *stream_id, const tp_peer_config *cfg, char *err, size_t errlen) {
  *out = NULL;
  /* No NICE_AGENT_OPTION_CONSENT_FRESHNESS: libnice 0.1.21 sends one
   * consent check every ~5 s, never retransmits it and fails the pair ~10 s
   * after the last answer, so a single lost check kills a call on a 5 %
   * lossy link. libnice still answers the browser's checks; vanished peers
   * are caught by the traffic watchdog (tp_peer consent_timeout_s, and the
   * signaling layer's) and by WebSocket pings. */
  NiceAgent *agent = nice_agent_new_full(cfg->ctx, NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_ICE_TRICKLE);
  if (!agent) {
    snprintf(err, errlen, "nice_agent_new_full failed");
    return -ENOMEM;
  }
  g_object_set(agent, "upnp", FALSE, "ice-tcp", FALSE, "ice-udp", TRUE, "controlling-mode",
               (gboolean)cfg->ice_controlling, NULL);
  int rc = 0;
  if (cfg->addrs) {
    for (size_t i = 0; cfg->addrs[i] && rc == 0; i++)
      rc = add_address(agent, cfg->addrs[i], err, errlen);
  } else {
    rc = add_default_addresses(agent, err, errlen);
  }
  guint sid = 0;
  if (rc == 0 && (sid = nice_agent_add_stream(agent, 1)) == 0) {
    snprintf(err, errlen, "nice_agent_add_stream failed");
    rc = -ENOMEM;
  }
  if (rc == 0 && (cfg->port_min || cfg->port_max)) {
    if (cfg->port_min > cfg->port_max) {
      snprintf(err, errlen, "bad port range %u-%u", cfg->port_min, cfg->port_max);
      rc = -EINVAL;
    } else {
      nice_agent_set_port_range(agent, sid, 1, cfg->port_min, cfg->port_max);
    }
  }
  if (rc != 0) {
    g_object_unref(agent);
    return rc;
  }
  *out = agent;
  *stream_id = sid;
  return 0;
}

static bool is_loopback(const NiceAddress *a) {
  char ip[NICE_ADDRESS_STRING_LEN];
  nice_address_to_string(a, ip);
  return g_str_has_prefix(ip, "127.") || strcmp(ip, "::1") == 0;
}

char *tp_ice_candidate_sdp(NiceAgent *agent, const NiceCandidate *c, const char *nat_ip) {
  NiceCandidate *copy = NULL;
  if (nat_ip && c->type == NICE_CANDIDATE_TYPE_HOST && !is_loopback(&c->addr)) {
    copy = nice_candidate_copy(c);
    guint port = nice_address_get_port(&c->addr);
    if (nice_address_set_from_string(&copy->addr, nat_ip)) nice_address_set_port(&copy->addr, port);
  }
  gchar *s = nice_agent_generate_local_candidate_sdp(agent, copy ? copy : (NiceCandidate *)c);
  if (copy) nice_candidate_free(copy);
  if (s && g_str_has_prefix(s, "a=")) memmove(s, s + 2, strlen(s + 2) + 1);
  return s;
}

char **tp_ice_local_candidates(NiceAgent *agent, guint stream_id, const char *nat_ip) {
  GSList *cands = nice_agent_get_local_candidates(agent, stream_id, 1);
  GPtrArray *out = g_ptr_array_new();
  for (GSList *l = cands; l; l = l->next) {
    char *s = tp_ice_candidate_sdp(agent, l->data, nat_ip);
    if (s) g_ptr_array_add(out, s);
  }
  g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
  g_ptr_array_add(out, NULL);
  return (char **)g_ptr_array_free(out, FALSE);
}

int tp_ice_parse_remote(NiceAgent *agent, guint stream_id, const char *cand, NiceCandidate **out, char *err,
                        size_t errlen) {
  *out = NULL;
  if (!cand) cand = "";
  if (g_str_has_prefix(cand, "a=")) cand += 2;
  if (!g_str_has_prefix(cand, "candidate:")) {
    snprintf(err, errlen, "not a candidate: \"%.40s\"", cand);
    return -EINVAL;
  }
  /* foundation component transport priority address port typ type ... */
  gchar *trimmed = g_strstrip(g_strdup(cand)); /* SDP lines may keep "\r" */
  cand = trimmed;
  gchar **tok = g_strsplit(cand + strlen("candidate:"), " ", 0);
  int rc = 0;
  if (g_strv_length(tok) < 8 || strcmp(tok[6], "typ") != 0) {
    snprintf(err, errlen, "malformed candidate: \"%.60s\"", cand);
    rc = -EINVAL;
  } else if (g_str_has_suffix(tok[4], ".local") || g_ascii_strcasecmp(tok[2], "udp") != 0 ||
             strcmp(tok[1], "1") != 0) {
    rc = 1; /* mDNS, TCP or a second component: skipped */
  }
  g_strfreev(tok);
  NiceCandidate *c = NULL;
  if (rc == 0) {
    gchar *line = g_strconcat("a=", cand, NULL);
    c = nice_agent_parse_remote_candidate_sdp(agent, stream_id, line);
    g_free(line);
    if (!c) {
      snprintf(err, errlen, "unparsable candidate: \"%.60s\"", cand);
      rc = -EINVAL;
    }
  }
  g_free(trimmed);
  if (rc != 0) return rc < 0 ? rc : 0;
  *out = c;
  return 0;
}
