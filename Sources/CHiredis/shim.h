#ifndef CHIREDIS_SHIM_H
#define CHIREDIS_SHIM_H
// hiredis 0.14 (Debian's libhiredis-dev): used only for its reply parser.
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#endif
