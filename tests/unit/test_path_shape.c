/*
 * Unit tests for path_shape.c, table by table. The accepted rows are the
 * paths of real AIA, CDP and Windows Update URLs, each with where it was
 * seen; the refused rows are the carriers an attacker would use.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ocspgate/path_shape.h"

#include "check.h"

static const struct {
	const char *path;
	bool prefix; /* path_shape_ocsp_prefix() */
	bool post;   /* path_shape_ocsp_post() */
} t_ocsp[] = {
    /* Real AIA OCSP URL paths. */
    {"", true, false},
    {"/", false, true},
    {"/gts1c3", true, true},           /* ocsp.pki.goog (GTS) */
    {"/s/we1/coM", true, true},        /* o.pki.goog, public certificate dump */
    {"/s/wr3/QZ0", true, true},        /* o.pki.goog, recorded browser POSTs */
    {"/wr2", true, true},              /* o.pki.goog */
    {"/gsrsaovsslca2018", true, true}, /* ocsp.globalsign.com */
    {"/ca/gsatlasr3dvtlsca2024q4", true, true}, /* ocsp.globalsign.com */
    {"/VA/AUTH-G3", true, true},                /* ocsp09.actalis.it */
    {"/OCSP/VCA5", true, true},                 /* ocsp.postsignum.cz */
    {"/OCSP/VCA5/", false, true},
    {"/ocsp", true, true},                 /* oneocsp.microsoft.com, AD CS */
    {"/ocsp03-apevsrsa2g101", true, true}, /* Apple */
    {"/5B257B96A465517EB839F3C078665EE83AE7F0EE", true, true}, /* key id */
    {"/a/b/c/d", true, true},
    /* Carriers. */
    {"/a/b/c/d/e", false, false},
    {"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false},
    {"/a%20b", false, false},
    {"/a b", false, false},
    {"/a+b", false, false},
    {"/a=b", false, false},
    {"/a~b", false, false},
    {"/a//b", false, false},
    {"//", false, false},
    {"/.", false, false},
    {"/..", false, false},
    {"/x/../y", false, false},
    {"x", false, false},
    {"/a?b", false, false},
};

static const struct {
	enum path_shape_fetch cls;
	const char *path;
	bool ok;
} t_fetch[] = {
    /* Real CDP paths. */
    {PATH_SHAPE_CRL, "/DigiCertGlobalG2TLSRSASHA2562020CA1-1.crl", true},
    {PATH_SHAPE_CRL, "/pki/crl/products/MicRooCerAut2011_2011_03_22.crl", true},
    {PATH_SHAPE_CRL,
        "/pkiops/crl/Microsoft%20Azure%20RSA%20TLS%20Issuing%20CA%2004.crl",
        true},
    {PATH_SHAPE_CRL,
        "/pkiops/crl/Microsoft%20Identity%20Verification%20Root%20"
        "Certificate%20Authority%202020.crl",
        true},
    {PATH_SHAPE_CRL, "/pkiops/crl/Microsoft%20Time-Stamp%20PCA%202010(1).crl",
        true},
    {PATH_SHAPE_CRL, "/pkiops/crl/Microsoft%20Update%20Signing%20CA%202.3.crl",
        true},
    {PATH_SHAPE_CRL, "/CertEnroll/cicada-DC-JPQ225-CA(1)+.crl", true},
    {PATH_SHAPE_CRL, "/CertEnroll/cicada-DC-JPQ225-CA(10)+.crl", true},
    {PATH_SHAPE_CRL, "/Repository/AUTHCL-G3/getLastCRL", true},
    {PATH_SHAPE_CRL, "/Repository/AUTH-ROOT/getLastCRL", true},
    {PATH_SHAPE_CRL, "/", true}, /* x1.c.lencr.org */
    {PATH_SHAPE_CRL, "/45.crl", true},
    {PATH_SHAPE_CRL, "/gts1c3/zdATt0Ex_Fk.crl", true},
    {PATH_SHAPE_CRL, "/DSTROOTCAX3CRL.crl", true},
    {PATH_SHAPE_CRL, "/crl/d-trust_root_class_3_ca_2_2009.crl", true},
    {PATH_SHAPE_CRL,
        "/SSL.com-Enterprise-Intermediate-codeSigning-RSA-4096-R1.crl", true},
    {PATH_SHAPE_CRL, "/X.CRL", true},
    /* Real caIssuers paths. */
    {PATH_SHAPE_CA_ISSUER, "/DigiCertGlobalRootG2.crt", true},
    {PATH_SHAPE_CA_ISSUER, "/we1.crt", true},
    {PATH_SHAPE_CA_ISSUER, "/repo/certs/gts1c3.der", true},
    {PATH_SHAPE_CA_ISSUER, "/r2m02.cer", true},
    {PATH_SHAPE_CA_ISSUER, "/fcpca/caCertsIssuedTofcpca.p7c", true},
    {PATH_SHAPE_CA_ISSUER, "/issuedto/DODROOTCA3_IT.p7c", true},
    {PATH_SHAPE_CA_ISSUER,
        "/pkiops/certs/"
        "Microsoft%20Azure%20TLS%20Issuing%20CA%2001%20-%20xsign.crt",
        true},
    {PATH_SHAPE_CA_ISSUER,
        "/CertEnroll/DC-JPQ225.cicada.vl_cicada-DC-JPQ225-CA(20-19).crt", true},
    {PATH_SHAPE_CA_ISSUER,
        "/cgi-bin/authority/download/425419CD83663AE8815437BBEEF09B15E3723E39",
        true},
    {PATH_SHAPE_CA_ISSUER, "/", true}, /* r10.i.lencr.org */
    /* Carriers and other things. */
    {PATH_SHAPE_CRL, "/x.crt", false},
    {PATH_SHAPE_CA_ISSUER, "/x.crl", false},
    {PATH_SHAPE_CA_ISSUER, "/index.html", false},
    {PATH_SHAPE_CA_ISSUER, "/425419CD83663AE8815437BBEEF09B15E3723E3", false},
    {PATH_SHAPE_CRL, "/a/", false},
    {PATH_SHAPE_CRL, "", false},
    {PATH_SHAPE_CRL, "x.crl", false},
    {PATH_SHAPE_CRL, "/a/b/c/d/e/f/g/h/i.crl", false},
    {PATH_SHAPE_CRL, "/a/b/c/d/e/f/g/h.crl", true},
    {PATH_SHAPE_CRL, "/a%41.crl", true},
    {PATH_SHAPE_CRL, "/a%41%42.crl", true},
    {PATH_SHAPE_CRL, "/a%41%42%43.crl", false},
    {PATH_SHAPE_CRL, "/a%c3%a9.crl", true},
    {PATH_SHAPE_CRL, "/a%2Fb.crl", false},
    {PATH_SHAPE_CRL, "/a%2eb.crl", false},
    {PATH_SHAPE_CRL, "/a%25.crl", false},
    {PATH_SHAPE_CRL, "/a%00.crl", false},
    {PATH_SHAPE_CRL, "/a%0a.crl", false},
    {PATH_SHAPE_CRL, "/a%4.crl", false},
    {PATH_SHAPE_CRL, "/a%zz.crl", false},
    {PATH_SHAPE_CRL, "/a b.crl", false},
    {PATH_SHAPE_CRL, "/a!b.crl", false},
    {PATH_SHAPE_CRL, "/a;b.crl", false},
    {PATH_SHAPE_CRL, "/dir%20x/a.crl", false},
    {PATH_SHAPE_CRL, "/dir(1)/a.crl", false},
    {PATH_SHAPE_CRL, "/../a.crl", false},
    {PATH_SHAPE_CRL, "/..", false},
};

/* A trust-list request: path, query (NULL: none), entry dir (NULL: WU). */
static const struct {
	const char *path;
	const char *query;
	const char *dir;
	bool ok;
	bool root;
} t_ctl[] = {
#define WU "/msdownload/update/v3/static/trustedr/en/"
    /* Public captures of CryptoAPI and scripts fetching trust lists. */
    {WU "authrootstl.cab", NULL, NULL, true, false},
    {WU "authrootstl.cab", "bd0fc98c3f88ee1d", NULL, true, false},
    {WU "authrootstl.cab", "b3d6249cb8dde683", NULL, true, false},
    {WU "disallowedcertstl.cab", "ce02e9976e1239e1", NULL, true, false},
    {WU "disallowedcertstl.cab", "f622d06ddf57408d", NULL, true, false},
    {WU "pinrulesstl.cab", "b10ce11509a3e09c", NULL, true, false},
    {WU "authrootseq.txt", NULL, NULL, true, false},
    {WU "authroot.stl", NULL, NULL, true, false},
    {WU "authroots.sst", NULL, NULL, true, false},
    {WU "delroots.sst", NULL, NULL, true, false},
    {WU "disallowedcert.sst", NULL, NULL, true, false},
    {WU "AuthRootSTL.cab", "BD0FC98C3F88EE1D", NULL, true, false},
    {WU "CABD2A79A1076A31F21D253635CB039D4329A5E8.crt", NULL, NULL, true, true},
    {WU "cabd2a79a1076a31f21d253635cb039d4329a5e8.crt", NULL, NULL, true, true},
    {"/msdownload/update/v3/static/trustedr/de/authrootstl.cab", NULL, NULL,
        true, false},
    {"/ctl/authrootstl.cab", NULL, "/ctl", true, false},
    /* Refused. */
    {WU "authrootseq.txt", "0123456789abcdef", NULL, false, false},
    {WU "CABD2A79A1076A31F21D253635CB039D4329A5E8.crt", "0123456789abcdef",
        NULL, false, false},
    {WU "authrootstl.cab", "0123456789abcde", NULL, false, false},
    {WU "authrootstl.cab", "0123456789abcdef0", NULL, false, false},
    {WU "authrootstl.cab", "0123456789abcdeg", NULL, false, false},
    {WU "authrootstl.cab", "x=1", NULL, false, false},
    {WU "authrootstl.cab", "", NULL, false, false},
    {WU "evil.cab", NULL, NULL, false, false},
    {WU "CABD2A79A1076A31F21D253635CB039D4329A5E.crt", NULL, NULL, false,
        false},
    {WU "CABD2A79A1076A31F21D253635CB039D4329A5E8.cer", NULL, NULL, false,
        false},
    {"/authrootstl.cab", NULL, NULL, false, false},
    {"/msdownload/update/v3/static/trustedr/english/authrootstl.cab", NULL,
        NULL, false, false},
    {"/msdownload/update/v3/static/trustedr/EN/authrootstl.cab", NULL, NULL,
        false, false},
    {"/msdownload/update/v3/static/trustedr/en/x/authrootstl.cab", NULL, NULL,
        false, false},
    {"/x/msdownload/update/v3/static/trustedr/en/authrootstl.cab", NULL, NULL,
        false, false},
    {"/ctl/sub/authrootstl.cab", NULL, "/ctl", false, false},
    {WU "authrootstl.cab", NULL, "/ctl", false, false},
#undef WU
};

static const struct {
	const char *label;
	bool ok;
} t_labels[] = {
    {"r3", true},
    {"e1", true},
    {"d-trust-root-class-3-ca-2-2009", true},
    {"0123456789abcdef0123456789abcdef", true},
    {"0123456789abcdef0123456789abcdef0", false},
    {"", false},
    {"-a", false},
    {"a-", false},
    {"a_b", false},
    {"a.b", false},
    {"a b", false},
};

int
main(void)
{
	for (size_t i = 0; i < sizeof(t_ocsp) / sizeof(t_ocsp[0]); i++) {
		const char *p = t_ocsp[i].path;

		CHECKF(path_shape_ocsp_prefix(p, strlen(p)) == t_ocsp[i].prefix,
		    "prefix \"%s\"", p);
		CHECKF(path_shape_ocsp_post(p, strlen(p)) == t_ocsp[i].post,
		    "post \"%s\"", p);
	}
	for (size_t i = 0; i < sizeof(t_fetch) / sizeof(t_fetch[0]); i++) {
		const char *p = t_fetch[i].path;
		const char *why =
		    path_shape_fetch(t_fetch[i].cls, p, strlen(p));

		CHECKF((why == NULL) == t_fetch[i].ok, "fetch \"%s\": %s", p,
		    why != NULL ? why : "ok");
	}
	for (size_t i = 0; i < sizeof(t_ctl) / sizeof(t_ctl[0]); i++) {
		struct path_shape_ctl c;
		const char *p = t_ctl[i].path, *q = t_ctl[i].query;
		const char *d = t_ctl[i].dir;
		const char *why =
		    path_shape_ctl(p, strlen(p), d, d != NULL ? strlen(d) : 0,
		        q, q != NULL ? strlen(q) : 0, &c);

		CHECKF((why == NULL) == t_ctl[i].ok, "ctl \"%s?%s\": %s", p,
		    q != NULL ? q : "", why != NULL ? why : "ok");
		if (why == NULL) {
			CHECKF(c.root == t_ctl[i].root, "ctl \"%s\": root", p);
			CHECKF(c.file == p + strlen(p) - c.file_len,
			    "ctl \"%s\": file", p);
		}
		if (why == NULL && c.root)
			CHECKF(c.thumbprint[0] == 0xca &&
			        c.thumbprint[1] == 0xbd &&
			        c.thumbprint[19] == 0xe8,
			    "ctl \"%s\": thumbprint", p);
	}
	for (size_t i = 0; i < sizeof(t_labels) / sizeof(t_labels[0]); i++) {
		const char *l = t_labels[i].label;

		CHECKF(
		    path_shape_wildcard_label(l, strlen(l)) == t_labels[i].ok,
		    "label \"%s\"", l);
	}
	/* NULL and oversized inputs. */
	CHECK(!path_shape_ocsp_prefix(NULL, 1));
	CHECK(!path_shape_ocsp_post(NULL, 1));
	CHECK(path_shape_fetch(PATH_SHAPE_CRL, NULL, 0) != NULL);
	{
		static char big[300];
		struct path_shape_ctl c;

		memset(big, 'a', sizeof(big));
		big[0] = '/';
		memcpy(big + sizeof(big) - 4, ".crl", 4);
		CHECK(
		    path_shape_fetch(PATH_SHAPE_CRL, big, sizeof(big)) != NULL);
		CHECK(path_shape_fetch(PATH_SHAPE_CRL, big + 100,
		          sizeof(big) - 100) != NULL); /* not from '/' */
		/* A 128-byte file name fits, 129 does not. */
		{
			char f[140];

			memset(f, 'a', sizeof(f));
			f[0] = '/';
			memcpy(f + 1 + 124, ".crl", 4);
			CHECK(path_shape_fetch(PATH_SHAPE_CRL, f, 129) == NULL);
			memset(f, 'a', sizeof(f));
			f[0] = '/';
			memcpy(f + 1 + 125, ".crl", 4);
			CHECK(path_shape_fetch(PATH_SHAPE_CRL, f, 130) != NULL);
		}
		CHECK(path_shape_ctl(big, sizeof(big), NULL, 0, NULL, 0, &c) !=
		    NULL);
	}
	return check_done();
}
