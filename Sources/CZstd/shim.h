// libzstd, from Debian's libzstd-dev. ZSTD_STATIC_LINKING_ONLY is not needed:
// kaudit uses the stable streaming API and ZSTD_d_windowLogMax only.
#include <zstd.h>
#include <zstd_errors.h>
