/*
 * The behaviour alerts' settings that are not plain integers. Part of
 * the config loader (config.c).
 */
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
