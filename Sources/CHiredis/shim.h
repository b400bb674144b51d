#ifndef AUTHBENCH_CHIREDIS_SHIM_H
#define AUTHBENCH_CHIREDIS_SHIM_H

/* hiredis 0.14 (Debian 12): only its RESP encoder (redisFormatCommandArgv) and
 * reply parser (redisReader) are used; all socket I/O is SwiftNIO's. */
#include <hiredis/hiredis.h>

#endif
