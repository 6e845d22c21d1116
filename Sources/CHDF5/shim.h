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
/* File access for new files in the HDF5 1.10 format, whose metadata (superblock, object
   headers, attributes, B-trees) carries checksums: a damaged file is then an error when
   read, where the original format's unchecked metadata can crash the library. */
static inline hid_t dfkd_h5p_file_access_checksummed(void) {
    hid_t access = H5Pcreate(H5P_FILE_ACCESS);
    if (access >= 0) H5Pset_libver_bounds(access, H5F_LIBVER_V110, H5F_LIBVER_V110);
    return access;
}
/* Links and attributes kept in their object header (checksummed) however many there are:
   past 8 HDF5 would move them to a fractal heap, whose blocks carry no checksum, and a
   damaged heap block can crash the library. */
static inline void dfkd_h5p_keep_compact(hid_t list) {
    H5Pset_link_phase_change(list, 65535, 65535);
    H5Pset_attr_phase_change(list, 65535, 65535);
}
static inline hid_t dfkd_h5p_file_create_compact(void) {
    hid_t list = H5Pcreate(H5P_FILE_CREATE);
    if (list >= 0) dfkd_h5p_keep_compact(list);
    return list;
}
static inline hid_t dfkd_h5p_group_create_compact(void) {
    hid_t list = H5Pcreate(H5P_GROUP_CREATE);
    if (list >= 0) dfkd_h5p_keep_compact(list);
    return list;
}
#endif
