#ifndef DFKD_CMPI_SHIM_H
#define DFKD_CMPI_SHIM_H
#include <mpi.h>
#include <time.h>

/* Open MPI's handles are macros over addresses of globals; Swift sees these functions. */
static inline MPI_Comm dfkd_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm dfkd_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype dfkd_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype dfkd_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype dfkd_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype dfkd_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op dfkd_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op dfkd_mpi_max(void) { return MPI_MAX; }
static inline MPI_Info dfkd_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline void *dfkd_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int dfkd_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline int dfkd_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int dfkd_mpi_success(void) { return MPI_SUCCESS; }
/* Errors come back as codes instead of aborting, so they can name what failed. */
static inline int dfkd_mpi_errors_return_on_world(void) { return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN); }
/* Whether a non-blocking barrier on `comm` completes within `seconds`; it is left pending
   (the process is about to end) when it does not. */
static inline int dfkd_mpi_barrier_within(MPI_Comm comm, double seconds) {
    MPI_Request request;
    if (MPI_Ibarrier(comm, &request) != MPI_SUCCESS) return 0;
    double deadline = MPI_Wtime() + seconds;
    int done = 0;
    while (!done && MPI_Wtime() < deadline) {
        if (MPI_Test(&request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return 0;
        if (!done) { struct timespec pause = {0, 1000000}; nanosleep(&pause, NULL); }
    }
    return done;
}
#endif
