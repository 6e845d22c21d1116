#ifndef DFKD_CBLAS_SHIM_H
#define DFKD_CBLAS_SHIM_H
#include <cblas.h>
#endif
