## Golden numbers for pybrms's lme4 and statsmodels engines, straight from lme4 in R.
##
## Run from the repository root:   Rscript tests/golden/lme4/make_golden.R
## Written:  2026-11-22; the script prints the versions it ran with (compare with this header)
## R 4.2.2, lme4 1.1-31, lmerTest 3.1-3 (Debian bookworm packages r-cran-lme4, r-cran-lmertest)
##
## Inputs written here (so Python fits exactly the same rows):
##   sleepstudy.csv  lme4::sleepstudy
##   cbpp.csv        lme4::cbpp (period as a factor with levels 1..4)
##   nested_crossed.csv  simulated gaussian data, set.seed(20261122):
##                   y = 1 + 0.5 x + u_a + u_ab + u_c + e, 12 a x 4 b (nested), 15 crossed c
## Outputs (estimates/SEs with 15 significant digits):
##   sleepstudy_lmer.csv      lmer(Reaction ~ Days + (Days | Subject)), REML
##   cbpp_glmer.csv           glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), binomial)
##   cbpp_glmer_nagq5.csv     the same with nAGQ = 5
##   cbpp_poisson.csv         glmer(incidence ~ period + (1 | herd), poisson)
##   nested_crossed_lmer.csv  lmer(y ~ x + (1 | a/b) + (1 | c)), REML
##   nested_lmer.csv          lmer(y ~ x + (1 | a/b)), REML (same data)
## Each output has rows kind = "fixef" (term, estimate, std_error, statistic, df, p_value) and
## kind = "vc" (term = group:name, estimate = SD of the random effect, or residual SD).

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})
out_dir <- "tests/golden/lme4"
stopifnot(dir.exists(out_dir))
cat("R", as.character(getRversion()), "lme4", as.character(packageVersion("lme4")),
    "lmerTest", as.character(packageVersion("lmerTest")), "\n")

golden <- function(fit) {
  cf <- summary(fit)$coefficients
  fe <- data.frame(
    kind = "fixef", term = rownames(cf),
    estimate = cf[, "Estimate"], std_error = cf[, "Std. Error"],
    statistic = cf[, grep("value$", colnames(cf))[1]],
    df = if ("df" %in% colnames(cf)) cf[, "df"] else NA_real_,
    p_value = cf[, grep("^Pr", colnames(cf))[1]],
    stringsAsFactors = FALSE
  )
  vc <- as.data.frame(VarCorr(fit))
  vc <- vc[is.na(vc$var2), ]
  re <- data.frame(
    kind = "vc", term = paste(vc$grp, ifelse(is.na(vc$var1), "", vc$var1), sep = ":"),
    estimate = vc$sdcor, std_error = NA_real_, statistic = NA_real_, df = NA_real_,
    p_value = NA_real_, stringsAsFactors = FALSE
  )
  rbind(fe, re)
}
write_golden <- function(x, name) {
  # write.csv keeps 15 significant digits of every double
  write.csv(x, file.path(out_dir, name), row.names = FALSE)
}

write.csv(sleepstudy, file.path(out_dir, "sleepstudy.csv"), row.names = FALSE)
fit1 <- lmerTest::lmer(Reaction ~ Days + (Days | Subject), data = sleepstudy, REML = TRUE)
write_golden(golden(fit1), "sleepstudy_lmer.csv")

cb <- cbpp
write.csv(cb, file.path(out_dir, "cbpp.csv"), row.names = FALSE)
fit2 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cb,
              family = binomial)
write_golden(golden(fit2), "cbpp_glmer.csv")
fit2q <- update(fit2, nAGQ = 5)
write_golden(golden(fit2q), "cbpp_glmer_nagq5.csv")
fit2p <- glmer(incidence ~ period + (1 | herd), data = cb, family = poisson)
write_golden(golden(fit2p), "cbpp_poisson.csv")

set.seed(20261122)
na <- 12; nb <- 4; nc <- 15; reps <- 3
d <- expand.grid(rep = seq_len(reps), b = seq_len(nb), a = seq_len(na), c = seq_len(nc))
d$a <- paste0("a", d$a); d$b <- paste0("b", d$b); d$c <- paste0("c", d$c)
d <- d[sample(nrow(d), 900), c("a", "b", "c")]
ua <- rnorm(na, 0, 0.8); names(ua) <- paste0("a", seq_len(na))
ab <- paste(d$a, d$b, sep = ":")
uab <- rnorm(length(unique(ab)), 0, 0.5); names(uab) <- sort(unique(ab))
uc <- rnorm(nc, 0, 0.6); names(uc) <- paste0("c", seq_len(nc))
d$x <- round(rnorm(nrow(d)), 6)
d$y <- round(1 + 0.5 * d$x + ua[d$a] + uab[ab] + uc[d$c] + rnorm(nrow(d), 0, 1), 6)
d <- d[, c("y", "x", "a", "b", "c")]
rownames(d) <- NULL
write.csv(d, file.path(out_dir, "nested_crossed.csv"), row.names = FALSE)
d <- read.csv(file.path(out_dir, "nested_crossed.csv"))  # fit exactly what Python will read
fit3 <- lmerTest::lmer(y ~ x + (1 | a/b) + (1 | c), data = d, REML = TRUE)
write_golden(golden(fit3), "nested_crossed_lmer.csv")
fit4 <- lmerTest::lmer(y ~ x + (1 | a/b), data = d, REML = TRUE)
write_golden(golden(fit4), "nested_lmer.csv")
