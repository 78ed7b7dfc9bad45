/* qt_dev.h — what developer tools (`voicebox dev`, tools/) may see of the engine beyond qt.h: the parsed
 * configs (config.h) and the shared parts (qt_common.h), enough to inspect a release and to write
 * real-shape random models. Only the CLI and tools/ have this header on their include path; the studio and
 * server cannot include it.
 */
#ifndef QT_DEV_H
#define QT_DEV_H

#include "engine/config.h"
#include "engine/qt_common.h"

#endif
