# The plain-R side of pybrms's model-kind exactness tests (tests/slow/test_brms_kinds.py): brm()
# calls from brms's own documentation, written as an R user writes them, nothing from pybrms.
# Usage: Rscript kinds.R OUTDIR KIND [CSV]   (KIND: ordinal, nonlinear, censored, zinb_csv,
# multivariate, poisson_csv). Writes OUTDIR/<KIND>_draws.rds (posterior::as_draws_df of every
# draw). Made 2026-12-01 with R 4.2.2, brms 2.18.0, rstan 2.21.7; poisson_csv (the plain-R side
# of tests/slow/test_cli_exact.py) added 2026-12.
args <- commandArgs(trailingOnly = TRUE)
out <- args[[1]]; kind <- args[[2]]
suppressPackageStartupMessages(library(brms))
if (!nzchar(system.file("include", package = "BH"))) rstan::rstan_options(boost_lib = "/usr/include")

if (kind == "ordinal") {
  # brms's inhaler example: sequential ratio with category-specific effects
  fit <- brm(rating ~ period + carry + cs(treat), data = inhaler,
             family = sratio("cloglog"), chains = 2, iter = 300, seed = 11, cores = 1,
             refresh = 0)
} else if (kind == "nonlinear") {
  # brms's non-linear vignette: cumulative insurance loss, priors on the non-linear parameters
  nlform <- bf(cum ~ ult * (1 - exp(-(dev/theta)^omega)),
               ult ~ 1 + (1|AY), omega ~ 1, theta ~ 1, nl = TRUE)
  nlprior <- c(prior(normal(5000, 1000), nlpar = "ult"),
               prior(normal(1, 2), nlpar = "omega"),
               prior(normal(45, 10), nlpar = "theta"))
  fit <- brm(formula = nlform, data = loss, family = gaussian(), prior = nlprior,
             control = list(adapt_delta = 0.9), chains = 2, iter = 300, seed = 12, cores = 1,
             refresh = 0)
} else if (kind == "censored") {
  # brms's kidney example: censored survival times, weibull, correlated varying slopes
  fit <- brm(time | cens(censored) ~ age * sex + disease + (1 + age | patient),
             data = kidney, family = weibull(), init = "0", chains = 2, iter = 300,
             seed = 13, cores = 1, refresh = 0)
} else if (kind == "zinb_csv") {
  # zero-inflation with its own predictor (a distributional parameter), data read from CSV
  epi <- read.csv(args[[3]])
  fit <- brm(bf(count ~ zAge + zBase * Trt + (1 | patient), zi ~ Trt), data = epi,
             family = zero_inflated_poisson(), chains = 2, iter = 300, seed = 14, cores = 1,
             refresh = 0, sample_prior = TRUE)
} else if (kind == "multivariate") {
  # as brms's multivariate vignette (its BTdata is MCMCglmm's; R's iris here): two responses,
  # varying intercepts correlated across them, residual correlation
  fit <- brm(bf(mvbind(Sepal.Length, Petal.Length) ~ Sepal.Width + (1|p|Species)) +
               set_rescor(TRUE),
             data = iris, chains = 2, iter = 300, seed = 15, cores = 1, refresh = 0)
} else if (kind == "poisson_csv") {
  # brms's epilepsy example with brms's default priors, data read from CSV as `pybrms compare`
  # and pybrms.brm(data = "file.csv") read it
  epi <- read.csv(args[[3]])
  fit <- brm(count ~ zAge + zBase * Trt + (1 | patient), data = epi, family = poisson(),
             chains = 2, iter = 300, seed = 16, cores = 1, refresh = 0)
} else stop("unknown kind ", kind)

saveRDS(as.data.frame(posterior::as_draws_df(fit)), file.path(out, paste0(kind, "_draws.rds")))
cat("done", kind, "\n")
