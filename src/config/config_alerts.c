/*
 * The behaviour alerts' settings: their thresholds and windows, plain
 * integers parsed by config.c's table code, and the periodic jitter.
 * Part of the config loader (config.c).
 */
#include <stddef.h>

#include <libconfig.h>

#include "ocspgate/config.h"

#include "config_ctx.h"

void
config_parse_periodic_jitter(struct config_ctx *ctx, const config_setting_t *s)
{
	double v;

	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else
		v = -1;
	if (!(v >= 0 && v <= 1)) {
		config_error(ctx, s,
		    "'alert_periodic_jitter' must be a number from 0 to 1");
		return;
	}
	ctx->c->alerts.periodic_jitter = v;
}

const struct config_int config_alert_ints[] = {
    CONFIG_UINT("alert_rate_per_source", alerts.rate_per_source, 0, 10000000),
    CONFIG_UINT("alert_rate_per_pair", alerts.rate_per_pair, 0, 10000000),
    CONFIG_UINT("novelty_window", alerts.novelty_window, 0, 366 * 86400),
    CONFIG_UINT("novelty_learning", alerts.novelty_learning, 0, 366 * 86400),
    CONFIG_UINT("alert_early_requery", alerts.early_requery, 0, 1000000),
    CONFIG_UINT("alert_serial_fanout", alerts.serial_fanout, 0, 1024),
    CONFIG_UINT("alert_fanout_window", alerts.fanout_window, 1, 86400),
    CONFIG_UINT("alert_periodic_min", alerts.periodic_min, 0, 16),
    CONFIG_UINT("alert_cooldown", alerts.cooldown, 0, 86400),
    CONFIG_UINT("alert_unknown_certificates", alerts.unknown_certs, 0, 1024),
    CONFIG_UINT("alert_unauthorized_answers", alerts.unauthorized, 0, 1024),
    CONFIG_UINT("alert_ua_mismatch", alerts.ua_mismatch, 0, 1000000),
    CONFIG_UINT("max_tracked_sources", alerts.max_tracked_sources, 1, 10000000),
};

const size_t config_nalert_ints =
    sizeof(config_alert_ints) / sizeof(config_alert_ints[0]);
