/* clock.c — the one monotonic clock voicebox measures durations with (stage timings, progress rates,
 * the decode loop's thread probe). Never the wall clock: it jumps when the system time is set. */
#include "engine/qt.h"

#include <time.h>

double qt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
