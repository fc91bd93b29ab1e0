/*
 * Unit tests for the JSON writer: escaping, UTF-8 replacement, nesting,
 * numbers, misuse and buffer reuse. Outputs are checked against expected
 * text and with the strict parser of the fuzz target, included below.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ocspgate/json.h"

/* The strict parser and the fuzz invariants, run here on the tables. */
#include "../fuzz/fuzz_json.c"

#define S(lit) lit, sizeof(lit) - 1

struct string_case {
	const char *in;
	size_t in_len;
	const char *out; /* the JSON string written, quotes included */
	size_t out_len;
};

/* Quotes, backslashes and the short escapes. */
static const struct string_case escape_cases[] = {
    {S(""), S("\"\"")},
    {S("abc"), S("\"abc\"")},
    {S("a\"b"), S("\"a\\\"b\"")},
    {S("a\\b"), S("\"a\\\\b\"")},
    {S("\"\\\""), S("\"\\\"\\\\\\\"\"")},
    {S("/"), S("\"/\"")},
    {S("\b\f\n\r\t"), S("\"\\b\\f\\n\\r\\t\"")},
    {S("a\0b"), S("\"a\\u0000b\"")},
    {S("\x7f"), S("\"\\u007f\"")},
    {S("~\x7f "), S("\"~\\u007f \"")},
    {S("line1\r\nline2"), S("\"line1\\r\\nline2\"")},
    {S("GET /\x1b[31m"), S("\"GET /\\u001b[31m\"")},
};

/* Well-formed UTF-8 passes through; boundaries of each length. */
static const struct string_case utf8_valid_cases[] = {
    {S("\xc2\x80"), S("\"\xc2\x80\"")}, /* U+0080 */
    {S("\xc3\xa9t\xc3\xa9"), S("\"\xc3\xa9t\xc3\xa9\"")},
    {S("\xdf\xbf"), S("\"\xdf\xbf\"")},                 /* U+07FF */
    {S("\xe0\xa0\x80"), S("\"\xe0\xa0\x80\"")},         /* U+0800 */
    {S("\xe2\x82\xac"), S("\"\xe2\x82\xac\"")},         /* euro sign */
    {S("\xed\x9f\xbf"), S("\"\xed\x9f\xbf\"")},         /* U+D7FF */
    {S("\xee\x80\x80"), S("\"\xee\x80\x80\"")},         /* U+E000 */
    {S("\xef\xbf\xbd"), S("\"\xef\xbf\xbd\"")},         /* U+FFFD */
    {S("\xef\xbf\xbf"), S("\"\xef\xbf\xbf\"")},         /* U+FFFF */
    {S("\xf0\x90\x80\x80"), S("\"\xf0\x90\x80\x80\"")}, /* U+10000 */
    {S("\xf0\x9d\x84\x9e"), S("\"\xf0\x9d\x84\x9e\"")}, /* U+1D11E */
    {S("\xf4\x8f\xbf\xbf"), S("\"\xf4\x8f\xbf\xbf\"")}, /* U+10FFFF */
    {S("a\xc3\xa9\"\n"), S("\"a\xc3\xa9\\\"\\n\"")},
};

#define R "\xef\xbf\xbd"

/*
 * Each class of ill-formed UTF-8: one U+FFFD per maximal ill-formed
 * subpart (the results agree with Python's decode(errors="replace")).
 */
static const struct string_case utf8_invalid_cases[] = {
    /* lone continuation bytes */
    {S("\x80"), S("\"" R "\"")},
    {S("\xbf"), S("\"" R "\"")},
    {S("a\x80\x80z"), S("\"a" R R "z\"")},
    /* bytes that never occur */
    {S("\xc0"), S("\"" R "\"")},
    {S("\xc1"), S("\"" R "\"")},
    {S("\xf5"), S("\"" R "\"")},
    {S("\xfe\xff"), S("\"" R R "\"")},
    /* overlongs */
    {S("\xc0\x80"), S("\"" R R "\"")},
    {S("\xc0\xaf"), S("\"" R R "\"")},
    {S("\xc1\xbf"), S("\"" R R "\"")},
    {S("\xe0\x80\x80"), S("\"" R R R "\"")},
    {S("\xe0\x9f\xbf"), S("\"" R R R "\"")},
    {S("\xf0\x80\x80\x80"), S("\"" R R R R "\"")},
    {S("\xf0\x8f\xbf\xbf"), S("\"" R R R R "\"")},
    /* surrogates */
    {S("\xed\xa0\x80"), S("\"" R R R "\"")},
    {S("\xed\xbf\xbf"), S("\"" R R R "\"")},
    {S("\xed\xa0\xbd\xed\xb2\xa9"), S("\"" R R R R R R "\"")},
    /* above U+10FFFF */
    {S("\xf4\x90\x80\x80"), S("\"" R R R R "\"")},
    {S("\xf5\x80\x80\x80"), S("\"" R R R R "\"")},
    {S("\xf8\x88\x80\x80\x80"), S("\"" R R R R R "\"")},
    /* truncated sequences: one U+FFFD for the whole prefix */
    {S("\xc3"), S("\"" R "\"")},
    {S("\xc3z"), S("\"" R "z\"")},
    {S("\xe2\x82"), S("\"" R "\"")},
    {S("\xe2\x82z"), S("\"" R "z\"")},
    {S("\xf0\x9d\x84"), S("\"" R "\"")},
    {S("\xf0\x9d\x84z"), S("\"" R "z\"")},
    {S("\xf0\x9d\x84\xc3\xa9"), S("\"" R "\xc3\xa9\"")},
    {S("\xe2\x82\"\xe2\x82\xac"), S("\"" R "\\\"\xe2\x82\xac\"")},
    /* a second byte out of the lead's range ends the subpart at once */
    {S("\xe0\x9f"), S("\"" R R "\"")},
    {S("\xf4\x90"), S("\"" R R "\"")},
    {S("\xed\xa0"), S("\"" R R "\"")},
};

static void
test_string_table(const char *name, const struct string_case *t, size_t n)
{
	struct json j;

	json_init(&j);
	for (size_t i = 0; i < n; i++) {
		json_reset(&j);
		json_string(&j, NULL, t[i].in, t[i].in_len);
		CHECKF(!j.failed && j.len == t[i].out_len &&
		        memcmp(j.buf, t[i].out, j.len) == 0,
		    "%s[%zu]: got %.*s", name, i, (int)j.len, j.buf);
		CHECKF(fuzz_json_validate(j.buf, j.len, NULL),
		    "%s[%zu]: invalid JSON", name, i);
		/* The fuzz target's invariants hold on every table input. */
		LLVMFuzzerTestOneInput((const uint8_t *)t[i].in, t[i].in_len);
	}
	json_free(&j);
}

/* Every control byte, and DEL, escaped; decoding gives it back. */
static void
test_control_bytes(void)
{
	static const char *const short_escapes[0x20] = {
	    ['\b'] = "\\b",
	    ['\f'] = "\\f",
	    ['\n'] = "\\n",
	    ['\r'] = "\\r",
	    ['\t'] = "\\t",
	};
	struct fuzz_json_doc doc;
	struct json j;
	char want[16];
	unsigned char c;

	json_init(&j);
	for (unsigned b = 0; b <= 0x7f; b++) {
		if (b >= 0x20 && b < 0x7f)
			continue;
		c = (unsigned char)b;
		if (b < 0x20 && short_escapes[b] != NULL)
			snprintf(
			    want, sizeof(want), "\"%s\"", short_escapes[b]);
		else
			snprintf(want, sizeof(want), "\"\\u%04x\"", b);
		json_reset(&j);
		json_string(&j, NULL, (const char *)&c, 1);
		CHECKF(!j.failed && strcmp(j.buf, want) == 0,
		    "byte 0x%02x: got %s, want %s", b, j.buf, want);
		CHECK(fuzz_json_validate(j.buf, j.len, &doc));
		CHECK(doc.nstrings == 1 && doc.strings[0].len == 1 &&
		    doc.strings[0].s[0] == c);
		fuzz_json_doc_free(&doc);
	}
	/* Printable ASCII other than '"' and '\\' is written as is. */
	for (unsigned b = 0x20; b < 0x7f; b++) {
		c = (unsigned char)b;
		json_reset(&j);
		json_string(&j, NULL, (const char *)&c, 1);
		if (b == '"' || b == '\\')
			CHECK(j.len == 4 && j.buf[1] == '\\' &&
			    j.buf[2] == (char)b);
		else
			CHECK(j.len == 3 && j.buf[1] == (char)b);
	}
	json_free(&j);
}

/* Every byte value, every pair: the output is valid and decodes back. */
static void
test_all_pairs(void)
{
	unsigned bad = 0;

	for (unsigned a = 0; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++) {
			unsigned char in[3] = {
			    (unsigned char)a, (unsigned char)b, 'x'};

			/* Aborts on any broken invariant. */
			LLVMFuzzerTestOneInput(in, sizeof(in));
			bad += !fuzz_json_utf8_valid(in, sizeof(in));
		}
	}
	CHECK(bad > 0);
}

/* A round trip for valid UTF-8 gives back the input exactly. */
static void
test_round_trip(void)
{
	static const char in[] = "ocsp \xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x92 "
	                         "\"q\" \\ \x01\x1f\x7f /ok";
	struct fuzz_json_doc doc;
	struct json j;

	json_init(&j);
	json_object_begin(&j, NULL);
	json_string(&j, "v", in, sizeof(in) - 1);
	json_object_end(&j);
	CHECK(fuzz_json_validate(j.buf, j.len, &doc));
	CHECK(doc.nstrings == 2 && doc.strings[1].len == sizeof(in) - 1 &&
	    memcmp(doc.strings[1].s, in, sizeof(in) - 1) == 0);
	fuzz_json_doc_free(&doc);
	json_free(&j);
}

static void
test_nesting(void)
{
	static const unsigned char serial[] = {0x0a, 0x1b};
	static const char want[] =
	    "{\"event\":{\"action\":\"allow\",\"category\":[\"network\"]},"
	    "\"empty\":{},\"list\":[],\"n\":[1,2,[true,false],{\"k\":\"v\"}],"
	    "\"certs\":[{\"serial\":\"0A1B\"},{\"serial\":\"0A1B\"}]}\n";
	struct json j;

	json_init(&j);
	json_object_begin(&j, NULL);
	json_object_begin(&j, "event");
	json_cstring(&j, "action", "allow");
	json_array_begin(&j, "category");
	json_cstring(&j, NULL, "network");
	json_array_end(&j);
	json_object_end(&j);
	json_object_begin(&j, "empty");
	json_object_end(&j);
	json_array_begin(&j, "list");
	json_array_end(&j);
	json_array_begin(&j, "n");
	json_uint(&j, NULL, 1);
	json_int(&j, NULL, 2);
	json_array_begin(&j, NULL);
	json_bool(&j, NULL, true);
	json_bool(&j, NULL, false);
	json_array_end(&j);
	json_object_begin(&j, NULL);
	json_cstring(&j, "k", "v");
	json_object_end(&j);
	json_array_end(&j);
	json_array_begin(&j, "certs");
	for (int i = 0; i < 2; i++) {
		json_object_begin(&j, NULL);
		json_hex(&j, "serial", serial, sizeof(serial));
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_raw(&j, "\n", 1);
	CHECKF(!j.failed && strcmp(j.buf, want) == 0, "got %s", j.buf);
	CHECK(j.depth == 0);
	CHECK(fuzz_json_validate(j.buf, j.len, NULL));

	/* As deep as allowed, and one level too deep. */
	json_reset(&j);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_array_begin(&j, NULL);
	CHECK(!j.failed && j.depth == JSON_MAX_DEPTH);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_array_end(&j);
	CHECK(!j.failed && j.depth == 0 && j.len == 2 * JSON_MAX_DEPTH);
	CHECK(fuzz_json_validate(j.buf, j.len, NULL));
	json_reset(&j);
	for (int i = 0; i <= JSON_MAX_DEPTH; i++)
		json_array_begin(&j, NULL);
	CHECK(j.failed);
	json_free(&j);
}

/* Each misuse sets failed, and later calls write nothing. */
static void
test_misuse(void)
{
	struct json j;
	size_t len;

	json_init(&j);
	json_cstring(&j, "key", "top-level value with a key");
	CHECK(j.failed);

	json_reset(&j);
	CHECK(!j.failed && j.len == 0);
	json_object_begin(&j, NULL);
	json_cstring(&j, NULL, "member without a name");
	CHECK(j.failed);
	len = j.len;
	json_object_end(&j);
	json_raw(&j, "\n", 1);
	CHECK(j.len == len);

	json_reset(&j);
	json_array_begin(&j, NULL);
	json_uint(&j, "name", 1);
	CHECK(j.failed);

	json_reset(&j);
	json_object_begin(&j, NULL);
	json_array_end(&j);
	CHECK(j.failed);

	json_reset(&j);
	json_array_begin(&j, NULL);
	json_object_end(&j);
	CHECK(j.failed);

	json_reset(&j);
	json_object_end(&j);
	CHECK(j.failed);

	json_reset(&j);
	json_array_end(&j);
	CHECK(j.failed);

	/* NULL strings are written as null, not read. */
	json_reset(&j);
	json_array_begin(&j, NULL);
	json_cstring(&j, NULL, NULL);
	json_string(&j, NULL, NULL, 5);
	json_string(&j, NULL, NULL, 0);
	json_hex(&j, NULL, NULL, 0);
	json_array_end(&j);
	CHECKF(!j.failed && strcmp(j.buf, "[null,null,\"\",\"\"]") == 0,
	    "got %s", j.buf);
	json_free(&j);
}

static void
test_numbers(void)
{
	static const struct {
		int64_t v;
		const char *want;
	} ints[] = {
	    {0, "0"},
	    {-1, "-1"},
	    {42, "42"},
	    {INT64_MAX, "9223372036854775807"},
	    {INT64_MIN, "-9223372036854775808"},
	};
	static const struct {
		uint64_t v;
		const char *want;
	} uints[] = {
	    {0, "0"},
	    {1234567, "1234567"},
	    {UINT64_MAX, "18446744073709551615"},
	};
	struct json j;

	json_init(&j);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		json_reset(&j);
		json_int(&j, NULL, ints[i].v);
		CHECKF(strcmp(j.buf, ints[i].want) == 0, "got %s", j.buf);
		CHECK(fuzz_json_validate(j.buf, j.len, NULL));
	}
	for (size_t i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
		json_reset(&j);
		json_uint(&j, NULL, uints[i].v);
		CHECKF(strcmp(j.buf, uints[i].want) == 0, "got %s", j.buf);
		CHECK(fuzz_json_validate(j.buf, j.len, NULL));
	}
	json_reset(&j);
	json_object_begin(&j, NULL);
	json_bool(&j, "t", true);
	json_bool(&j, "f", false);
	json_int(&j, "min", INT64_MIN);
	json_uint(&j, "max", UINT64_MAX);
	json_object_end(&j);
	CHECKF(strcmp(j.buf,
	           "{\"t\":true,\"f\":false,"
	           "\"min\":-9223372036854775808,"
	           "\"max\":18446744073709551615}") == 0,
	    "got %s", j.buf);
	json_free(&j);
}

static void
test_hex(void)
{
	static const unsigned char bytes[] = {
	    0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
	unsigned char all[256];
	struct fuzz_json_doc doc;
	struct json j;

	json_init(&j);
	json_hex(&j, NULL, bytes, sizeof(bytes));
	CHECKF(strcmp(j.buf, "\"00017F80ABCDEFFF\"") == 0, "got %s", j.buf);
	json_reset(&j);
	json_hex(&j, NULL, bytes, 0);
	CHECK(strcmp(j.buf, "\"\"") == 0);

	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	json_reset(&j);
	json_hex(&j, NULL, all, sizeof(all));
	CHECK(!j.failed && j.len == 2 * sizeof(all) + 2);
	CHECK(fuzz_json_validate(j.buf, j.len, &doc));
	CHECK(doc.nstrings == 1 &&
	    fuzz_json_is_hex_of(
	        doc.strings[0].s, doc.strings[0].len, all, sizeof(all)));
	fuzz_json_doc_free(&doc);
	json_free(&j);
}

/* json_reset() keeps the buffer; growth doubles and keeps the content. */
static void
test_memory(void)
{
	static char big[100000];
	struct fuzz_json_doc doc;
	struct json j;
	char *buf;
	size_t cap;

	json_init(&j);
	CHECK(j.buf == NULL && j.len == 0 && j.cap == 0 && !j.failed);
	memset(big, 'a', sizeof(big));
	for (size_t i = 0; i < sizeof(big); i += 1000)
		big[i] = '\n';
	json_object_begin(&j, NULL);
	json_string(&j, "big", big, sizeof(big));
	json_object_end(&j);
	CHECK(!j.failed && j.cap >= j.len + 1);
	CHECK((j.cap & (j.cap - 1)) == 0); /* a power of two: doubled */
	CHECK(j.len == sizeof(big) + 100 + 2 + 8);
	CHECK(fuzz_json_validate(j.buf, j.len, &doc));
	CHECK(doc.nstrings == 2 && doc.strings[1].len == sizeof(big) &&
	    memcmp(doc.strings[1].s, big, sizeof(big)) == 0);
	fuzz_json_doc_free(&doc);

	buf = j.buf;
	cap = j.cap;
	j.failed = true;
	j.depth = 3;
	json_reset(&j);
	CHECK(j.buf == buf && j.cap == cap && j.len == 0 && !j.failed &&
	    j.depth == 0 && j.buf[0] == '\0');
	json_cstring(&j, NULL, "again");
	CHECK(j.buf == buf && strcmp(j.buf, "\"again\"") == 0);

	json_free(&j);
	CHECK(j.buf == NULL && j.cap == 0 && j.len == 0);
}

/* Members written before, added whole: the comma where one is due. */
static void
test_member_raw(void)
{
	static const char m[] = "\"source\":{\"ip\":\"10.0.0.1\"}";
	struct json j;

	json_init(&j);
	json_object_begin(&j, NULL);
	json_member_raw(&j, m, sizeof(m) - 1); /* first: no comma */
	json_member_raw(&j, m, 0);             /* empty: nothing */
	json_cstring(&j, "a", "b");
	json_object_begin(&j, "o");
	json_member_raw(&j, m, sizeof(m) - 1);
	json_object_end(&j);
	json_member_raw(&j, m, sizeof(m) - 1); /* after one: a comma */
	json_object_end(&j);
	CHECKF(!j.failed &&
	        strcmp(j.buf,
	            "{\"source\":{\"ip\":\"10.0.0.1\"},\"a\":\"b\","
	            "\"o\":{\"source\":{\"ip\":\"10.0.0.1\"}},"
	            "\"source\":{\"ip\":\"10.0.0.1\"}}") == 0,
	    "got %s", j.buf);
	/* Not inside an object: misuse. */
	json_reset(&j);
	json_member_raw(&j, m, sizeof(m) - 1);
	CHECK(j.failed);
	json_reset(&j);
	json_array_begin(&j, NULL);
	json_member_raw(&j, m, sizeof(m) - 1);
	CHECK(j.failed);
	json_free(&j);
}
/*
 * One byte of every value at every offset of a longer string of plain
 * bytes: the eight-at-a-time scan for plain runs stops for it wherever
 * it stands, and it is written as it is written alone.
 */
static void
test_byte_positions(void)
{
	struct json j, one;
	char in[24], want[64];

	json_init(&j);
	json_init(&one);
	for (unsigned b = 0; b < 256; b++) {
		unsigned char c = (unsigned char)b;

		json_reset(&one);
		json_string(&one, NULL, (const char *)&c, 1);
		CHECK(!one.failed && one.len >= 3);
		for (size_t k = 0; k < sizeof(in); k++) {
			size_t n = 0;

			memset(in, 'a', sizeof(in));
			in[k] = (char)c;
			want[n++] = '"';
			memset(want + n, 'a', k);
			n += k;
			memcpy(want + n, one.buf + 1, one.len - 2);
			n += one.len - 2;
			memset(want + n, 'a', sizeof(in) - k - 1);
			n += sizeof(in) - k - 1;
			want[n++] = '"';
			json_reset(&j);
			json_string(&j, NULL, in, sizeof(in));
			CHECKF(!j.failed && j.len == n &&
			        memcmp(j.buf, want, n) == 0,
			    "byte 0x%02x at %zu: got %s", b, k, j.buf);
		}
	}
	json_free(&one);
	json_free(&j);
}

/*
 * Timestamps in a row: the same second, the next, an earlier one, and a
 * year out of range in between; each is written as if alone.
 */
static void
test_timestamp(void)
{
	static const struct {
		time_t sec;
		long nsec;
		const char *want; /* NULL: nothing written */
	} cases[] = {
	    {1714564800, 123000000, "\"2024-05-01T12:00:00.123Z\""},
	    {1714564800, 999999999, "\"2024-05-01T12:00:00.999Z\""},
	    {1714564801, 0, "\"2024-05-01T12:00:01.000Z\""},
	    {1714564800, 5000000, "\"2024-05-01T12:00:00.005Z\""},
	    {(time_t)-62167219201, 0, NULL}, /* -0001-12-31T23:59:59Z */
	    {1714564800, 1000000, "\"2024-05-01T12:00:00.001Z\""},
	    {0, 0, "\"1970-01-01T00:00:00.000Z\""},
	    {253402300799, 0, "\"9999-12-31T23:59:59.000Z\""},
	    {253402300800, 0, NULL}, /* year 10000 */
	    {253402300799, 7000000, "\"9999-12-31T23:59:59.007Z\""},
	};
	struct json j;

	json_init(&j);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct timespec ts = {
		    .tv_sec = cases[i].sec, .tv_nsec = cases[i].nsec};
		const char *want = cases[i].want != NULL ? cases[i].want : "";

		json_reset(&j);
		json_timestamp(&j, NULL, &ts);
		CHECKF(!j.failed && j.len == strlen(want) &&
		        memcmp(j.len > 0 ? j.buf : "", want, j.len) == 0,
		    "case %zu: got %.*s, want %s", i, (int)j.len,
		    j.len > 0 ? j.buf : "", want);
	}
	json_free(&j);
}

/*
 * json_value_string() writes what json_string() writes, and says the
 * text went out as it came exactly when the output is the input quoted.
 */
static void
test_value_string_table(const char *name, const struct string_case *t, size_t n)
{
	struct json j;

	json_init(&j);
	for (size_t i = 0; i < n; i++) {
		bool verbatim, same;

		json_reset(&j);
		verbatim = json_value_string(&j, t[i].in, t[i].in_len);
		CHECKF(!j.failed && j.len == t[i].out_len &&
		        memcmp(j.buf, t[i].out, j.len) == 0,
		    "%s[%zu]: got %.*s", name, i, (int)j.len, j.buf);
		same = t[i].out_len == t[i].in_len + 2 &&
		    memcmp(t[i].out + 1, t[i].in, t[i].in_len) == 0;
		CHECKF(verbatim == same, "%s[%zu]: verbatim %d", name, i,
		    (int)verbatim);
	}
	json_free(&j);
}

/* A replacement as long as the bytes it replaces is no verbatim copy. */
static void
test_value_string_replaced(void)
{
	static const struct {
		const char *in;
		size_t len;
		bool verbatim;
	} cases[] = {
	    {S("/ocsp/MFEwTzBNMEswSTAJBgUrDgMCGgUABBQ%3D"), true},
	    {S("caf\xc3\xa9"), true},
	    {S("\xf0\x9f\x98"), false}, /* three bytes, one U+FFFD */
	    {S("a\"b"), false},
	    {S(""), true},
	};
	struct json j;

	json_init(&j);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_reset(&j);
		CHECKF(json_value_string(&j, cases[i].in, cases[i].len) ==
		        cases[i].verbatim,
		    "case %zu", i);
		CHECK(!j.failed && fuzz_json_validate(j.buf, j.len, NULL));
	}
	/* NULL with a length: null, as json_string() writes it. */
	json_reset(&j);
	(void)json_value_string(&j, NULL, 1);
	CHECK(!j.failed && strcmp(j.buf, "null") == 0);
	json_free(&j);
}

/*
 * Raw members: json_members_begin() puts the comma where one is due,
 * and the value writers write what the member writers write.
 */
static void
test_raw_members(void)
{
	static const unsigned char h[] = {0x00, 0xab, 0x7f};
	static const struct {
		const char *want; /* the object written */
		int shape;        /* which members, below */
	} cases[] = {
	    {"{\"a\":1}", 0},
	    {"{\"x\":true,\"a\":1}", 1},
	    {"{\"n\":\"mode\",\"s\":\"q\\\"\",\"c\":null,"
	     "\"h\":\"00AB7F\",\"u\":18446744073709551615}",
	        2},
	};
	struct json j;

	json_init(&j);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_reset(&j);
		json_object_begin(&j, NULL);
		if (cases[i].shape == 1)
			json_bool(&j, "x", true);
		CHECK(json_members_begin(&j));
		if (cases[i].shape < 2) {
			JSON_LIT(&j, "\"a\":1");
		} else {
			JSON_LIT(&j, "\"n\":");
			json_value_name(&j, "mode", 4);
			JSON_LIT(&j, ",\"s\":");
			(void)json_value_string(&j, "q\"", 2);
			JSON_LIT(&j, ",\"c\":");
			json_value_cstring(&j, NULL);
			JSON_LIT(&j, ",\"h\":");
			json_value_hex(&j, h, sizeof(h));
			JSON_LIT(&j, ",\"u\":");
			json_value_uint(&j, UINT64_MAX);
		}
		json_object_end(&j);
		CHECKF(!j.failed && strcmp(j.buf, cases[i].want) == 0,
		    "case %zu: got %s", i, j.buf);
		CHECK(fuzz_json_validate(j.buf, j.len, NULL));
	}
	/* Outside an object: misuse, nothing written. */
	json_reset(&j);
	CHECK(!json_members_begin(&j) && j.failed);
	json_reset(&j);
	json_array_begin(&j, NULL);
	CHECK(!json_members_begin(&j) && j.failed);
	/* A literal into an empty writer (no buffer yet) grows it. */
	json_free(&j);
	JSON_LIT(&j, "{}");
	CHECK(!j.failed && strcmp(j.buf, "{}") == 0);
	json_free(&j);
}

/*
 * Hex of every length up to three blocks of sixteen and a tail, from
 * every starting byte: the same text as printf's %02X byte by byte.
 */
static void
test_hex_lengths(void)
{
	unsigned char in[64];
	char want[2 * sizeof(in) + 3];
	struct json j;

	json_init(&j);
	for (size_t len = 0; len <= 50; len++) {
		for (unsigned start = 0; start < 256; start += 37) {
			size_t n = 0;

			want[n++] = '"';
			for (size_t i = 0; i < len; i++) {
				in[i] = (unsigned char)(start + 11 * i);
				n += (size_t)snprintf(
				    want + n, sizeof(want) - n, "%02X", in[i]);
			}
			want[n++] = '"';
			json_reset(&j);
			json_value_hex(&j, in, len);
			CHECKF(!j.failed && j.len == n &&
			        memcmp(j.buf, want, n) == 0,
			    "len %zu from %u: got %s", len, start, j.buf);
		}
	}
	json_free(&j);
}

/*
 * A byte that needs escaping at each offset of plain strings of every
 * length to three blocks of sixteen: the scan's sixteen-, eight- and
 * one-byte steps, and its last block read again, stop for it wherever
 * it stands, and it is written as it is written alone.
 */
static void
test_lengths_and_positions(void)
{
	static const unsigned char bytes[] = {
	    0x00, 0x1f, '"', '\\', 0x7f, 0x80, 0xc3, 0xff, 'z'};
	char in[48], want[48 * 6 + 2];
	struct json j, one;

	json_init(&j);
	json_init(&one);
	for (size_t b = 0; b < sizeof(bytes); b++) {
		json_reset(&one);
		(void)json_value_string(&one, (const char *)&bytes[b], 1);
		for (size_t len = 1; len <= sizeof(in); len++) {
			for (size_t k = 0; k < len; k++) {
				size_t n = 0;

				memset(in, 'a', len);
				in[k] = (char)bytes[b];
				want[n++] = '"';
				memset(want + n, 'a', k);
				n += k;
				memcpy(want + n, one.buf + 1, one.len - 2);
				n += one.len - 2;
				memset(want + n, 'a', len - k - 1);
				n += len - k - 1;
				want[n++] = '"';
				json_reset(&j);
				(void)json_value_string(&j, in, len);
				CHECKF(!j.failed && j.len == n &&
				        memcmp(j.buf, want, n) == 0,
				    "byte 0x%02x at %zu of %zu: got %s",
				    bytes[b], k, len, j.buf);
			}
		}
	}
	json_free(&j);
	json_free(&one);
}

/* json_timestamp_text() is json_timestamp()'s text. */
static void
test_timestamp_text(void)
{
	static const struct timespec cases[] = {
	    {0, 0}, {1714564800, 123456789}, {1714564800, 999999999},
	    {1714564801, 1000000},
	    {253402300799, 999000000}, /* 9999-12-31T23:59:59.999Z */
	};
	struct json j;
	char t[24];

	json_init(&j);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_reset(&j);
		json_timestamp(&j, NULL, &cases[i]);
		CHECKF(json_timestamp_text(&j, &cases[i], t) && j.len == 26 &&
		        memcmp(j.buf + 1, t, 24) == 0,
		    "case %zu: %s", i, j.buf);
	}
	/* A year past 9999: nothing. */
	CHECK(!json_timestamp_text(&j, &(struct timespec){253402300800, 0}, t));
	json_free(&j);
}

int
main(void)
{
	test_string_table("escape", escape_cases,
	    sizeof(escape_cases) / sizeof(escape_cases[0]));
	test_string_table("utf8_valid", utf8_valid_cases,
	    sizeof(utf8_valid_cases) / sizeof(utf8_valid_cases[0]));
	test_string_table("utf8_invalid", utf8_invalid_cases,
	    sizeof(utf8_invalid_cases) / sizeof(utf8_invalid_cases[0]));
	test_control_bytes();
	test_all_pairs();
	test_round_trip();
	test_nesting();
	test_misuse();
	test_numbers();
	test_hex();
	test_memory();
	test_member_raw();
	test_byte_positions();
	test_timestamp();
	test_value_string_table("escape", escape_cases,
	    sizeof(escape_cases) / sizeof(escape_cases[0]));
	test_value_string_table("utf8_valid", utf8_valid_cases,
	    sizeof(utf8_valid_cases) / sizeof(utf8_valid_cases[0]));
	test_value_string_table("utf8_invalid", utf8_invalid_cases,
	    sizeof(utf8_invalid_cases) / sizeof(utf8_invalid_cases[0]));
	test_value_string_replaced();
	test_raw_members();
	test_timestamp_text();
	test_hex_lengths();
	test_lengths_and_positions();
	return check_done();
}
