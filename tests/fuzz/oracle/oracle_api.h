/*
 * What the differential fuzz targets call of the reference inspections
 * (see oracle.h): the same contracts as ocsp_request_inspect_rules(),
 * the GET path decoders and ocsp_response_inspect(), as they were before
 * the one-pass walks.
 */
#ifndef OCSPGATE_ORACLE_API_H
#define OCSPGATE_ORACLE_API_H

#include <stddef.h>

#include "ocspgate/ocsp_request.h"
#include "ocspgate/ocsp_response.h"

enum reason oracle_ocsp_request_inspect_rules(const unsigned char *der,
    size_t len, const struct ocsp_request_rules *rules,
    struct ocsp_request_facts *f);

int oracle_ocsp_request_decode_get(const char *path, size_t path_len,
    unsigned char *der, size_t cap, size_t *der_len, unsigned *flags);

int oracle_ocsp_request_split_get(const char *path, size_t path_len,
    unsigned char *der, size_t cap, size_t *der_len, unsigned *flags,
    size_t *prefix_len);

enum reason oracle_ocsp_response_inspect(const unsigned char *der, size_t len,
    const struct ocsp_request_facts *req, struct ocsp_response_facts *f);

#endif
