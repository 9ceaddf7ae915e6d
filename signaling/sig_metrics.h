/* sig_metrics: the Prometheus text exposition of the server's figures
 * (/metrics). Pure formatting of a snapshot plus this process's CPU and
 * memory from /proc/self. Any thread. */
#ifndef SIG_METRICS_H
#define SIG_METRICS_H

#include "sig_app.h"

/* Returns a malloc'ed text body. */
char *sig_metrics_format(const sig_app_stats *st);

#endif
