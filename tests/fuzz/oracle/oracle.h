/*
 * The OCSP inspections as they were before the one-pass DER walk: the
 * files beside this one are those sources unchanged (der.c, pkix.c,
 * ocsp_request.c, ocsp_response.c), compiled with this header forced in
 * first so that every function they export takes an oracle_ name. The
 * differential fuzz targets (fuzz_*_diff.c) run them next to the
 * inspections of src/ and abort where the two differ. Never edit the
 * copies: they are the reference.
 */
#ifndef OCSPGATE_ORACLE_H
#define OCSPGATE_ORACLE_H

#define der_header                 oracle_der_header
#define der_walk                   oracle_der_walk
#define pkix_cert_extensions       oracle_pkix_cert_extensions
#define pkix_crl_extensions        oracle_pkix_crl_extensions
#define pkix_signature_fits        oracle_pkix_signature_fits
#define pkix_key_of                oracle_pkix_key_of
#define pkix_cert_key              oracle_pkix_cert_key
#define pkix_cert_parse            oracle_pkix_cert_parse
#define pkix_issuer_hashes         oracle_pkix_issuer_hashes
#define pkix_extension_decodes     oracle_pkix_extension_decodes
#define ocsp_hash_name             oracle_ocsp_hash_name
#define ocsp_hash_len              oracle_ocsp_hash_len
#define ocsp_flag_name             oracle_ocsp_flag_name
#define ocsp_request_decode_get    oracle_ocsp_request_decode_get
#define ocsp_request_split_get     oracle_ocsp_request_split_get
#define ocsp_request_inspect_rules oracle_ocsp_request_inspect_rules
#define ocsp_request_inspect       oracle_ocsp_request_inspect
#define ocsp_issuer_from_cert      oracle_ocsp_issuer_from_cert
#define ocsp_request_issuers_match oracle_ocsp_request_issuers_match
#define ocsp_cert_status_name      oracle_ocsp_cert_status_name
#define ocsp_response_status_name  oracle_ocsp_response_status_name
#define ocsp_response_inspect      oracle_ocsp_response_inspect
#define ocsp_response_verify       oracle_ocsp_response_verify

#include "oracle_api.h"

#endif
