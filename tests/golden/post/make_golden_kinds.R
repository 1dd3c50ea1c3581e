# Golden files for predictions of multivariate and ordinal models (tests/slow/test_brms_kinds.py).
# Plain R, nothing from pybrms: the same brm() calls as tests/golden/brms/kinds.R ("ordinal",
# "multivariate"), which the slow tier fits through pybrms.brm with the same seeds, then brms's
# own fitted(), predict(), posterior_epred(), posterior_predict() and log_lik() of those draws.
# Stochastic outputs are made right after set.seed(), as the tests pass `seed=`.
# Usage: Rscript make_golden_kinds.R [OUTDIR]   (default: this script's folder; two compiles)
args <- commandArgs(trailingOnly = TRUE)
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))))
out <- if (length(args)) args[[1]] else here
suppressPackageStartupMessages(library(brms))
if (!nzchar(system.file("include", package = "BH"))) rstan::rstan_options(boost_lib = "/usr/include")

num17 <- function(df) {
  df <- as.data.frame(df, check.names = FALSE)
  for (n in names(df)) if (is.double(df[[n]])) df[[n]] <- sprintf("%.17g", df[[n]])
  df
}
put <- function(x, name) {
  write.csv(num17(x), file.path(out, paste0(name, ".csv")), row.names = FALSE)
}
# a 3-D array (first dimension rows, third dimension named) as one long data frame
long <- function(a, key, rows = seq_len(dim(a)[1])) {
  do.call(rbind, lapply(seq_len(dim(a)[3]), function(k) {
    df <- data.frame(dimnames(a)[[3]][k], rows - 1L, matrix(a[rows, , k], nrow = length(rows)),
                     check.names = FALSE)
    names(df) <- c(key, "obs", if (is.null(dimnames(a)[[2]])) paste0("V", seq_len(dim(a)[2]))
                   else dimnames(a)[[2]])
    df
  }))
}
# the ordinal outputs keep rows 1, 60, 287, 346 (the four covariate patterns of inhaler) and 572
rows_o <- c(1L, 60L, 287L, 346L, 572L)
draw_ids <- c(1L, 150L, 300L)

# brms's inhaler example: sequential ratio with category-specific effects (kinds.R "ordinal")
fit_o <- brm(rating ~ period + carry + cs(treat), data = inhaler,
             family = sratio("cloglog"), chains = 2, iter = 300, seed = 11, cores = 1,
             refresh = 0)
d <- as.data.frame(posterior::as_draws_df(fit_o))
put(data.frame(variable = names(d), sum = colSums(d)), "kinds_ordinal_draws_colsums")
put(long(fitted(fit_o), "category", rows_o), "kinds_ordinal_fitted_rows")
set.seed(21); put(predict(fit_o)[rows_o, ], "kinds_ordinal_predict_seed21_rows")
ep <- posterior_epred(fit_o, draw_ids = draw_ids)  # draws x observations x categories
put(do.call(rbind, lapply(seq_along(draw_ids), function(i) {
  data.frame(draw = draw_ids[i], long(array(ep[i, , ], c(dim(ep)[2], 1, dim(ep)[3]),
                                            list(NULL, "epred", dimnames(ep)[[3]])),
                                      "category", rows_o), check.names = FALSE)
})), "kinds_ordinal_epred_draws_rows")

# two responses, correlated varying intercepts, residual correlation (kinds.R "multivariate")
fit_m <- brm(bf(mvbind(Sepal.Length, Petal.Length) ~ Sepal.Width + (1|p|Species)) +
               set_rescor(TRUE),
             data = iris, chains = 2, iter = 300, seed = 15, cores = 1, refresh = 0)
d <- as.data.frame(posterior::as_draws_df(fit_m))
put(data.frame(variable = names(d), sum = colSums(d)), "kinds_mv_draws_colsums")
put(long(fitted(fit_m), "resp"), "kinds_mv_fitted")
set.seed(22); put(long(predict(fit_m), "resp"), "kinds_mv_predict_seed22")
set.seed(23); pp <- posterior_predict(fit_m)  # draws x observations x responses
put(long(array(apply(pp, c(2, 3), sum), c(dim(pp)[2], 1, dim(pp)[3]),
             list(NULL, "sum", dimnames(pp)[[3]])), "resp"), "kinds_mv_predict_draws_seed23_sums")
put(log_lik(fit_m, draw_ids = draw_ids), "kinds_mv_log_lik_draws")

v <- c(R = paste(R.version$major, R.version$minor, sep = "."),
       brms = as.character(packageVersion("brms")), rstan = as.character(packageVersion("rstan")),
       created = format(Sys.Date()))
writeLines(paste0(names(v), ": ", v), file.path(out, "VERSIONS_kinds"))
cat("done\n")
