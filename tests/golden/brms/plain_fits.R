# The plain-R side of pybrms's exactness tests: the same brm() calls a user would write,
# with nothing from pybrms. Usage: Rscript plain_fits.R OUTDIR (gaussian|gaussian_new|bernoulli)
# Writes OUTDIR/<which>_draws.rds (all draws, posterior::as_draws_df) and
# OUTDIR/<which>_hyp.rds (brms::hypothesis tables). Made 2026-11-22, R 4.2.2, brms 2.18.0,
# rstan 2.21.7. The test compares these with pybrms's numbers for exact equality.
args <- commandArgs(trailingOnly = TRUE)
out <- args[[1]]; which <- args[[2]]
here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))
suppressPackageStartupMessages(library(brms))
if (!nzchar(system.file("include", package = "BH"))) rstan::rstan_options(boost_lib = "/usr/include")

gaussian_priors <- c(
  set_prior("normal(0, 1e6)", class = "b"),
  set_prior("normal(0, 1e6)", class = "Intercept"),
  set_prior("student_t(3, 0, 50)", class = "sd"),
  set_prior("student_t(3, 0, 50)", class = "sigma"),
  set_prior("lkj(1)", class = "cor")
)
sleep <- read.csv(file.path(here, "sleepstudy.csv"))

if (which == "gaussian") {
  fit <- brm(Reaction ~ Days + (Days | Subject), data = sleep, family = gaussian(),
             prior = gaussian_priors, chains = 2, iter = 600, seed = 1234, cores = 1, refresh = 0)
  hyps <- list(
    one_sided = c("Days > 0", "Days < 12", "Intercept - 25 * Days > 0"),
    two_sided = c("Days = 10", "Intercept = 250")
  )
} else if (which == "gaussian_new") {
  fit <- brm(Reaction ~ Days + (Days | Subject), data = subset(sleep, Days < 8),
             family = gaussian(), prior = gaussian_priors, chains = 2, iter = 600, seed = 99,
             cores = 1, refresh = 0)
  hyps <- list(one_sided = c("Days > 0"))
} else if (which == "bernoulli") {
  bern <- read.csv(file.path(here, "bern.csv"))
  fit <- brm(y ~ x1 + x2 + (1 | user/conv) + (1 | model), data = bern, family = bernoulli(),
             prior = set_prior("normal(0, 1e6)", class = "b"), chains = 2, iter = 600,
             seed = 2024, cores = 1, refresh = 0)
  hyps <- list(
    one_sided = c("x1 > 0", "x2 < 0", "x1 - x2 > 0", "x1 < 0.5"),
    two_sided = c("x1 = 0.5", "x2 = 0")
  )
} else stop("unknown model ", which)

saveRDS(as.data.frame(posterior::as_draws_df(fit)), file.path(out, paste0(which, "_draws.rds")))
tabs <- lapply(hyps, function(h) as.data.frame(hypothesis(fit, h, alpha = 0.05)$hypothesis))
saveRDS(tabs, file.path(out, paste0(which, "_hyp.rds")))
cat("done", which, "\n")
