#ifndef DFKD_CHDF5_SHIM_H
#define DFKD_CHDF5_SHIM_H
#include <hdf5.h>

/* HDF5's type and property-list identifiers are macros that call H5open(); Swift cannot
   import them, so these functions return their values. */
static inline hid_t dfkd_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t dfkd_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t dfkd_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t dfkd_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t dfkd_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t dfkd_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t dfkd_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t dfkd_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t dfkd_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t dfkd_h5s_all(void) { return H5S_ALL; }
static inline hid_t dfkd_h5e_default(void) { return H5E_DEFAULT; }
static inline unsigned dfkd_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned dfkd_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
static inline unsigned dfkd_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned dfkd_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline hsize_t dfkd_h5s_unlimited(void) { return H5S_UNLIMITED; }
/* New files: the HDF5 1.10 format (its object headers and B-trees carry checksums), a
   512-byte user block in front for DataFreeKD's whole-file checksum, and a strong close,
   so that closing the file closes every object in it and the bytes are final. */
static inline hid_t dfkd_h5p_file_create_sealed(void) {
    hid_t list = H5Pcreate(H5P_FILE_CREATE);
    if (list >= 0) H5Pset_userblock(list, 512);
    return list;
}
static inline hid_t dfkd_h5p_file_access_new(void) {
    hid_t access = H5Pcreate(H5P_FILE_ACCESS);
    if (access >= 0) {
        H5Pset_libver_bounds(access, H5F_LIBVER_V110, H5F_LIBVER_V110);
        H5Pset_fclose_degree(access, H5F_CLOSE_STRONG);
    }
    return access;
}
/* Chunk creation for appendable datasets: shuffle, deflate and a Fletcher-32 checksum per
   chunk, filters every HDF5 build has. */
static inline hid_t dfkd_h5p_chunked(int rank, const hsize_t *chunk) {
    hid_t list = H5Pcreate(H5P_DATASET_CREATE);
    if (list < 0) return list;
    H5Pset_chunk(list, rank, chunk);
    H5Pset_shuffle(list);
    H5Pset_deflate(list, 4);
    H5Pset_fletcher32(list);
    return list;
}
#endif
