/* bench_churn: participants joining and leaving beside the measured load
 * (`--churn N --churn-rate R`). Main thread (the bench's GLib loop). */
#ifndef BENCH_CHURN_H
#define BENCH_CHURN_H

#include <stdint.h>

#include "bench.h"

typedef struct bench_churn bench_churn;

/* N slots; R joins (and as many leaves) per second, each churner in a room
 * "<prefix>-churn<slot>". run is copied (its counters are not shared). */
bench_churn *bench_churn_new(const bench_run *run, const char *prefix, unsigned pool, double rate);
/* Starts and ends churners as they fall due; ticks the live ones. */
void bench_churn_tick(bench_churn *c, int64_t now_us);
/* Every churner leaves; none starts any more. */
void bench_churn_stop(bench_churn *c, int64_t now_us);
void bench_churn_counts(const bench_churn *c, unsigned *joins, unsigned *ok, unsigned *failed);
void bench_churn_free(bench_churn *c);

#endif
