# Golden files for pybrms's post-processing tests (tests/slow/test_postprocess.py).
# Plain R, nothing from pybrms: the same brm() calls the slow tier makes through pybrms.brm with
# the same seeds (pybrms's fits are bit-identical to Rscript's), then brms's own
# post-processing of those draws. Stochastic outputs are made right after set.seed(), as the
# tests do through pybrms's `seed=` arguments.
# Usage: Rscript make_golden.R [OUTDIR]   (default: this script's folder; about 5 min)
args <- commandArgs(trailingOnly = TRUE)
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))))
out <- if (length(args)) args[[1]] else here
suppressPackageStartupMessages({library(brms); library(emmeans)})
if (!nzchar(system.file("include", package = "BH"))) rstan::rstan_options(boost_lib = "/usr/include")

gaussian_priors <- c(
  set_prior("normal(0, 1e6)", class = "b"),
  set_prior("normal(0, 1e6)", class = "Intercept"),
  set_prior("student_t(3, 0, 50)", class = "sd"),
  set_prior("student_t(3, 0, 50)", class = "sigma"),
  set_prior("lkj(1)", class = "cor")
)
sleep <- read.csv(file.path(here, "..", "brms", "sleepstudy.csv"))

# PYBRMS_GOLDEN_FITS=dir keeps the two fits there (brm(file = )) so a rerun skips the compiles
keep <- Sys.getenv("PYBRMS_GOLDEN_FITS")
keep_as <- function(name) if (nzchar(keep)) file.path(keep, name) else NULL

# A: the post-processing fit (new Stan program: sample_prior adds prior draws)
fit <- brm(Reaction ~ Days + (Days | Subject), data = sleep, family = gaussian(),
           prior = gaussian_priors, sample_prior = "yes", save_pars = save_pars(all = TRUE),
           chains = 2, iter = 400, seed = 4321, cores = 1, refresh = 0, file = keep_as("fit_a"))
# B: the slow tier's gaussian program (no sample_prior), for bayes_factor
fit_b <- brm(Reaction ~ Days + (Days | Subject), data = sleep, family = gaussian(),
             prior = gaussian_priors, save_pars = save_pars(all = TRUE),
             chains = 2, iter = 400, seed = 77, cores = 1, refresh = 0, file = keep_as("fit_b"))

num17 <- function(df) {
  df <- as.data.frame(df, check.names = FALSE)
  for (n in names(df)) if (is.double(df[[n]])) df[[n]] <- sprintf("%.17g", df[[n]])
  df
}
put <- function(x, name, rownames_as = NULL) {
  df <- as.data.frame(x, check.names = FALSE)
  if (!is.null(rownames_as)) df <- cbind(setNames(data.frame(rownames(df)), rownames_as), df)
  write.csv(num17(df), file.path(out, paste0(name, ".csv")), row.names = FALSE)
}

ids <- c(1L, 77L, 250L, 400L)
nd <- data.frame(Days = c(0, 4.5, 9, 2), Subject = c(308L, 372L, 999L, 999L),
                 Reaction = c(250, 300.5, 350.25, 280))
nd_old <- nd[1:2, ]

d <- as.data.frame(posterior::as_draws_df(fit))
put(d[c(1, 2, 400), ], "draws_rows")  # rows 1, 2 and 400: a check that the fits are the same
put(data.frame(variable = names(d), sum = colSums(d)), "draws_colsums")

put(posterior_epred(fit, draw_ids = ids), "epred")
put(posterior_epred(fit, newdata = nd, re_formula = NA, draw_ids = ids), "epred_newdata_re_na")
put(posterior_linpred(fit, newdata = nd_old, re_formula = ~ (1 | Subject), draw_ids = ids),
    "linpred_re_intercept")
put(posterior_linpred(fit, transform = TRUE, ndraws = 3, draw_ids = ids), "linpred_transform")
set.seed(11); put(posterior_predict(fit, draw_ids = ids), "predict_draws_seed11")
set.seed(12); put(posterior_predict(fit, newdata = nd, allow_new_levels = TRUE, ndraws = 5),
                  "predict_newlevels_ndraws5_seed12")
put(log_lik(fit, draw_ids = ids), "log_lik")
put(log_lik(fit, newdata = nd_old, draw_ids = ids), "log_lik_newdata")

put(fitted(fit), "fitted")
put(fitted(fit, newdata = nd_old, re_formula = NA, probs = c(0.1, 0.9)), "fitted_newdata_re_na")
set.seed(13); put(fitted(fit, newdata = nd, allow_new_levels = TRUE), "fitted_newlevels_seed13")
set.seed(14); put(predict(fit), "predict_seed14")

put(prior_summary(fit), "prior_summary")

lo <- loo(fit)
put(lo$estimates, "loo_estimates", "metric")
put(lo$pointwise, "loo_pointwise")
kt <- loo::pareto_k_table(lo)
put(data.frame(range = c("(-Inf, 0.5]", "(0.5, 0.7]", "(0.7, 1]", "(1, Inf)"),
               unclass(kt)[, 1:3], check.names = FALSE), "loo_pareto_k_table")
wa <- suppressWarnings(waic(fit))
put(wa$estimates, "waic_estimates", "metric")
put(wa$pointwise, "waic_pointwise")

put(bayes_R2(fit), "bayes_R2")
set.seed(15); put(loo_R2(fit), "loo_R2_seed15")

ce <- conditional_effects(fit, effects = "Days")
put(ce$Days, "conditional_effects_Days")

set.seed(16)
p <- pp_check(fit, type = "dens_overlay", ndraws = 5)
put(p$data, "pp_check_dens_overlay_seed16")
set.seed(17)
p <- pp_check(fit, type = "stat", stat = "mean")
put(p$data, "pp_check_stat_mean_seed17")

em <- emmeans(fit, ~ Days, at = list(Days = c(0, 4, 8)))
put(summary(em), "emmeans_Days")
put(summary(contrast(em, "pairwise")), "emmeans_Days_pairwise")

set.seed(18)
kf <- kfold(fit, K = 3)
put(kf$estimates, "kfold_K3_seed18", "metric")
put(data.frame(fold = attr(kf, "folds"), kf$pointwise), "kfold_K3_seed18_pointwise")

set.seed(19)
b1 <- bridge_sampler(fit, silent = TRUE)
b2 <- bridge_sampler(fit_b, silent = TRUE)
set.seed(19)
bf <- bayes_factor(fit, fit_b, silent = TRUE)
stopifnot(identical(bf$bf, exp(b1$logml - b2$logml)))
put(data.frame(logml_1 = b1$logml, logml_2 = b2$logml, bf = bf$bf), "bayes_factor_seed19")

# loo with brms's options: moment matching (fit A keeps every parameter) and reloo at
# k_threshold = 0.85 (one refit: observation 57, the only Pareto k above it), after set.seed(20)
lm <- loo(fit, moment_match = TRUE)
put(lm$estimates, "loo_moment_match_estimates", "metric")
put(lm$pointwise, "loo_moment_match_pointwise")
set.seed(20)
lr <- loo(fit, reloo = TRUE, k_threshold = 0.85)
put(lr$estimates, "loo_reloo_k085_seed20_estimates", "metric")
put(lr$pointwise, "loo_reloo_k085_seed20_pointwise")
# loo_compare of fit A and fit B, by PSIS-LOO and by WAIC
put(unclass(loo::loo_compare(list(post = lo, other = loo(fit_b)))), "loo_compare_post_other",
    "model")
put(unclass(loo::loo_compare(list(post = wa, other = suppressWarnings(waic(fit_b))))),
    "waic_compare_post_other", "model")

v <- c(R = paste(R.version$major, R.version$minor, sep = "."),
       brms = as.character(packageVersion("brms")), rstan = as.character(packageVersion("rstan")),
       StanHeaders = as.character(packageVersion("StanHeaders")),
       loo = as.character(packageVersion("loo")), emmeans = as.character(packageVersion("emmeans")),
       bridgesampling = as.character(packageVersion("bridgesampling")),
       posterior = as.character(packageVersion("posterior")),
       bayesplot = as.character(packageVersion("bayesplot")),
       created = format(Sys.Date()))
writeLines(paste0(names(v), ": ", v), file.path(out, "VERSIONS"))
cat("done\n")
