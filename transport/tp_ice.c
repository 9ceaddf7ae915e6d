/* tp_ice: libnice agent set-up and candidate strings.
 * Agent: RFC 5245, full ICE, trickle (consent: see tp_ice_agent_new); UPnP
 * off; ICE-TCP (RFC 6544) when configured; host candidates only on the
 * addresses we add ourselves (libnice ignores loopback unless it is added
 * explicitly), IPv4 and IPv6 alike. */
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

static bool is_ipv6_link_local(const char *ip) {
  /* fe80::/10; a browser cannot use it without the zone (interface) id */
  return g_ascii_strncasecmp(ip, "fe8", 3) == 0 || g_ascii_strncasecmp(ip, "fe9", 3) == 0 ||
         g_ascii_strncasecmp(ip, "fea", 3) == 0 || g_ascii_strncasecmp(ip, "feb", 3) == 0;
}

/* Every interface address (IPv4 and IPv6) but loopback and IPv6
 * link-local, then the loopback addresses this host (or namespace) has:
 * 127.0.0.1 and ::1. */
static int add_default_addresses(NiceAgent *agent, char *err, size_t errlen) {
  GList *ips = nice_interfaces_get_local_ips(TRUE);
  bool v4_lo = false, v6_lo = false;
  int rc = 0;
  for (GList *l = ips; l && rc == 0; l = l->next) {
    const char *ip = l->data;
    if (g_str_has_prefix(ip, "127."))
      v4_lo = true;
    else if (strcmp(ip, "::1") == 0)
      v6_lo = true;
    else if (!is_ipv6_link_local(ip))
      rc = add_address(agent, ip, err, errlen);
  }
  g_list_free_full(ips, g_free);
  if (rc == 0 && v4_lo) rc = add_address(agent, "127.0.0.1", err, errlen);
  if (rc == 0 && v6_lo) rc = add_address(agent, "::1", err, errlen);
  return rc;
}

/* ICE-lite (RFC 8445 section 2.5): the agent only answers checks and takes
 * the pair the remote nominates; the remote (a browser: always a full
 * agent) is controlling on both connections, so it nominates at its first
 * successful check instead of waiting for our checks and a nomination
 * round. Only for hosts whose candidates the browser can reach (a lite
 * agent never discovers a path itself). */
static NiceAgentOption agent_options(const tp_peer_config *cfg) {
  NiceAgentOption o = NICE_AGENT_OPTION_ICE_TRICKLE;
  if (cfg->ice_lite) o |= NICE_AGENT_OPTION_LITE_MODE;
  return o;
}

int tp_ice_agent_new(NiceAgent **out, guint *stream_id, const tp_peer_config *cfg, char *err, size_t errlen) {
  *out = NULL;
  /* No NICE_AGENT_OPTION_CONSENT_FRESHNESS: libnice 0.1.21 sends one
   * consent check every ~5 s, never retransmits it and fails the pair ~10 s
   * after the last answer, so a single lost check kills a call on a 5 %
   * lossy link. libnice still answers the browser's checks; vanished peers
   * are caught by the traffic watchdog (tp_peer consent_timeout_s, and the
   * signaling layer's) and by WebSocket pings. */
  NiceAgent *agent = nice_agent_new_full(cfg->ctx, NICE_COMPATIBILITY_RFC5245, agent_options(cfg));
  if (!agent) {
    snprintf(err, errlen, "nice_agent_new_full failed");
    return -ENOMEM;
  }
  g_object_set(agent, "upnp", FALSE, "ice-tcp", (gboolean)cfg->ice_tcp, "ice-udp", TRUE, "controlling-mode",
               (gboolean)(cfg->ice_controlling && !cfg->ice_lite), NULL);
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

/* What a browser can use: UDP, and passive TCP (browsers only connect out,
 * RFC 6544 active; our active and simultaneous-open ones would never be
 * paired by them). */
static bool announced(const NiceCandidate *c) {
  return c->transport == NICE_CANDIDATE_TRANSPORT_UDP || c->transport == NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE;
}

char *tp_ice_candidate_sdp(NiceAgent *agent, const NiceCandidate *c, const char *nat_ip) {
  if (!announced(c)) return NULL;
  NiceCandidate *copy = NULL;
  NiceAddress nat;
  /* 1:1 NAT: only host candidates of the NAT address's family are rewritten */
  if (nat_ip && c->type == NICE_CANDIDATE_TYPE_HOST && !is_loopback(&c->addr) &&
      nice_address_set_from_string(&nat, nat_ip) && nat.s.addr.sa_family == c->addr.s.addr.sa_family) {
    copy = nice_candidate_copy(c);
    nice_address_set_port(&nat, nice_address_get_port(&c->addr));
    copy->addr = nat;
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

/* Decimal 0..65535 (0 and 9: TCP active candidates), nothing else. */
static bool port_ok(const char *s) {
  unsigned long v = 0;
  const char *d = s;
  while (g_ascii_isdigit(*s) && v <= 65535)
    v = v * 10 + (unsigned long)(*s++ - '0');
  return s > d && *s == '\0' && v <= 65535;
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
  } else if (!port_ok(tok[5])) { /* libnice would truncate it: 70000 -> 4464 */
    snprintf(err, errlen, "candidate port \"%.12s\" out of range (0-65535)", tok[5]);
    rc = -EINVAL;
  } else if (g_str_has_suffix(tok[4], ".local") || strcmp(tok[1], "1") != 0) {
    rc = 1; /* mDNS or a second component: skipped */
  } else if (g_ascii_strcasecmp(tok[2], "udp") != 0 && g_ascii_strcasecmp(tok[2], "tcp") != 0) {
    rc = 1; /* a transport libnice does not speak */
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
