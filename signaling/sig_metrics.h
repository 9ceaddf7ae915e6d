/* sig_metrics: the Prometheus text exposition of the server's figures
 * (/metrics). Formatting of a snapshot, plus the transport's process-wide
 * drop totals (tp_peer_totals) and this process's CPU and memory from
 * /proc/self. Any thread. Every metric of type counter only ever grows. */
#ifndef SIG_METRICS_H
#define SIG_METRICS_H

#include "sig_app.h"

/* Returns a malloc'ed text body. */
char *sig_metrics_format(const sig_app_stats *st);

#endif
