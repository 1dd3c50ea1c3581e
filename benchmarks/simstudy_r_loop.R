# The R baseline of benchmarks/simstudy.py: the same small GLMM fitted per replicate by a plain
# R loop with brms (update(recompile = FALSE) + fixef + posterior::summarise_draws), so the
# overhead pybrms adds can be told from the overhead brms itself has.
#   REPS=40 Rscript benchmarks/simstudy_r_loop.R   (from the repository root)
# Prints Stan's own seconds and the wall and CPU seconds per fit.
suppressPackageStartupMessages({library(brms); library(rstan)})
if (!nzchar(system.file("include", package = "BH"))) rstan::rstan_options(boost_lib = "/usr/include")
if (file.exists("pybrms/r/Makevars")) Sys.setenv(R_MAKEVARS_USER = normalizePath("pybrms/r/Makevars"))
gen <- function(seed) {
  set.seed(seed); g <- rep(1:20, each = 10); x <- rnorm(200); u <- rnorm(20)
  data.frame(y = rbinom(200, 1, plogis(-0.5 + 0.5 * x + u[g])), x = x, g = factor(g))
}
pri <- c(prior(normal(0, 2.5), class = b), prior(student_t(3, 0, 2.5), class = Intercept),
         prior(student_t(3, 0, 2.5), class = sd))
fit0 <- brm(y ~ x + (1 | g), gen(1), bernoulli(), prior = pri, chains = 2, iter = 1000,
            seed = 1, refresh = 0, silent = 2)
n <- as.integer(Sys.getenv("REPS", "40"))
stan <- numeric(n); total <- numeric(n); cpu <- numeric(n)
for (r in seq_len(n)) {
  d <- gen(100 + r)
  t0 <- proc.time()
  f <- update(fit0, newdata = d, recompile = FALSE, seed = 100 + r, refresh = 0, silent = 2)
  fe <- fixef(f); s <- posterior::summarise_draws(posterior::as_draws_df(f))
  t1 <- proc.time()
  total[r] <- (t1 - t0)[["elapsed"]]; cpu[r] <- sum((t1 - t0)[c("user.self", "sys.self")])
  stan[r] <- sum(rstan::get_elapsed_time(f$fit))
}
cat(sprintf("reps %d: stan %.3f s, wall %.3f s, cpu %.3f s per fit; overhead cpu share %.2f\n",
            n, mean(stan), mean(total), mean(cpu), (mean(cpu) - mean(stan)) / mean(stan)))
