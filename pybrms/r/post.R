# brms post-processing called from pybrms.brmsfit: predictions, log-likelihood, model
# comparison and plots' data, each returning plain arrays / data frames for the bridge.
# Every stochastic call takes `seed`: set.seed(seed) right before brms draws, exactly as an
# R script would write `set.seed(seed); posterior_predict(fit)`.

pybrms_set_seed <- function(seed) if (!is.null(seed)) set.seed(seed)

# re_formula as Python sends it: NULL (all group-level terms), "NA" (none) or a formula text.
pybrms_re_formula <- function(re) {
  if (is.null(re)) return(NULL)
  if (identical(re, "NA") || (length(re) == 1L && is.na(re))) return(NA)
  stats::as.formula(re)
}

# The arguments brms's prediction methods share, with NULLs dropped (brms's defaults stay).
pybrms_pred_args <- function(fit, args) {
  args <- args[!vapply(args, is.null, logical(1))]
  if ("re_formula" %in% names(args)) args$re_formula <- pybrms_re_formula(args$re_formula)
  c(list(fit), args)
}

# posterior_predict / posterior_epred / posterior_linpred / log_lik: a draws x observations array.
pybrms_draws_matrix <- function(fit, method, args, re_formula = NULL, seed = NULL) {
  unname(pybrms_draws_named(fit, method, args, re_formula, seed))
}

pybrms_draws_named <- function(fit, method, args, re_formula = NULL, seed = NULL) {
  fun <- switch(method,
    posterior_predict = brms::posterior_predict, posterior_epred = brms::posterior_epred,
    posterior_linpred = brms::posterior_linpred, log_lik = brms::log_lik,
    stop("unknown method ", method)
  )
  a <- pybrms_pred_args(fit, args)
  if (!is.null(re_formula)) a$re_formula <- pybrms_re_formula(re_formula)
  pybrms_set_seed(seed)
  # draws x observations; a third dimension for categories (categorical/ordinal epred) or
  # responses (multivariate models), as brms returns them
  do.call(fun, a)
}

# The same array and the names of its third dimension (brms's response names, or its
# category labels "P(Y = k)" reduced to k), for ArviZ coordinates.
pybrms_draws_array <- function(fit, method, args, re_formula = NULL, seed = NULL) {
  m <- pybrms_draws_named(fit, method, args, re_formula, seed)
  levels <- if (length(dim(m)) == 3L) pybrms_levels(dimnames(m)[[3]], dim(m)[3]) else character(0)
  list(values = unname(m), levels = levels)
}

pybrms_levels <- function(names, n) {
  if (is.null(names)) return(as.character(seq_len(n)))
  sub("^P\\(Y = (.*)\\)$", "\\1", names)
}

# predict() / fitted(): brms's summary matrix as a data frame (Estimate, Est.Error, Q2.5, Q97.5),
# or with summary = FALSE the draws x observations matrix. brms's 3-D summaries (observations x
# statistics x responses of a multivariate model, x categories of a categorical/ordinal
# fitted()) become one long data frame (pybrms_long_summary).
pybrms_pred_summary <- function(fit, method, args, re_formula = NULL, seed = NULL) {
  fun <- switch(method, predict = stats::predict, fitted = stats::fitted,
                stop("unknown method ", method))
  a <- pybrms_pred_args(fit, args)
  if (!is.null(re_formula)) a$re_formula <- pybrms_re_formula(re_formula)
  pybrms_set_seed(seed)
  m <- do.call(fun, a)
  if (isFALSE(a$summary)) return(unname(m))
  if (length(dim(m)) == 3L) {
    return(pybrms_long_summary(m, if (brms:::is_mv(fit)) "resp" else "category"))
  }
  if (length(dim(m)) != 2L) stop(method, " returned an array of ", length(dim(m)),
                                  " dimensions; pybrms handles up to three")
  as.data.frame(m, check.names = FALSE)
}

# A 3-D summary (observations x statistics x responses/categories) as one long data frame:
# one block per response (or category) in brms's order, `key` naming it (brms's response
# names; category labels "P(Y = k)" reduced to k), `obs` the row of the data counted from 0
# (pandas' position), then brms's statistics columns.
pybrms_long_summary <- function(m, key) {
  d <- dim(m)
  stats <- dimnames(m)[[2]]
  levels <- pybrms_levels(dimnames(m)[[3]], d[3])
  blocks <- lapply(seq_len(d[3]), function(k) {
    s <- matrix(m[, , k], nrow = d[1], dimnames = list(NULL, stats))
    df <- data.frame(levels[k], seq_len(d[1]) - 1L, s, check.names = FALSE,
                     stringsAsFactors = FALSE)
    names(df)[1:2] <- c(key, "obs")
    df
  })
  out <- do.call(rbind, blocks)
  rownames(out) <- NULL
  out
}

# The response as brms sees it, and its name. A multivariate model: `y` an observations x
# responses matrix, `resp` brms's response names (SepalLength), `name` the variables
# (Sepal.Length).
pybrms_response <- function(fit) {
  bt <- brms::brmsterms(fit$formula)
  if (brms:::is_mv(fit)) {
    y <- brms::get_y(fit)
    return(list(name = vapply(bt$terms, function(t) all.vars(t$respform)[1], ""),
                y = unname(matrix(as.numeric(y), nrow = NROW(y))),
                resp = unname(bt$responses)))
  }
  list(name = all.vars(bt$respform)[1], y = as.numeric(brms::get_y(fit)), resp = character(0))
}

pybrms_prior_summary <- function(fit, all = TRUE) {
  p <- brms::prior_summary(fit, all = all)
  as.data.frame(p, check.names = FALSE, stringsAsFactors = FALSE)
}

# brms::loo with brms's own arguments (moment_match, reloo, k_threshold, moment_match_args,
# reloo_args, resp); set.seed(seed) first (reloo's refits draw their seeds from R's RNG).
pybrms_loo <- function(fit, args = list(), seed = NULL) {
  args <- args[!vapply(args, is.null, logical(1))]
  pybrms_set_seed(seed)
  # the fit passed as the symbol `fit`, so brms's messages name the model 'fit' as loo(fit)
  # in a script does (not the deparsed object)
  do.call(brms::loo, c(list(quote(fit)), args))
}

# Estimates, pointwise values, Pareto k values and loo's k table (its own thresholds).
pybrms_loo_table <- function(l) {
  est <- as.data.frame(l$estimates)
  out <- list(
    estimates = data.frame(metric = rownames(est), est, check.names = FALSE, row.names = NULL),
    pointwise = as.data.frame(l$pointwise, check.names = FALSE),
    pareto_k = as.numeric(l$diagnostics$pareto_k),
    n_eff = as.numeric(l$diagnostics$n_eff),
    pointwise_elpd = as.numeric(l$pointwise[, "elpd_loo"]),
    n_samples = as.integer(dim(l)[1])
  )
  kt <- loo::pareto_k_table(l)
  out$pareto_k_table <- data.frame(
    range = c("(-Inf, 0.5]", "(0.5, 0.7]", "(0.7, 1]", "(1, Inf)"),
    label = c("good", "ok", "bad", "very bad"),
    unclass(kt)[, 1:3, drop = FALSE], check.names = FALSE, row.names = NULL
  )
  out
}

pybrms_loo_compare <- function(loos, names) {
  names(loos) <- names
  cmp <- loo::loo_compare(loos)
  data.frame(model = rownames(cmp), as.data.frame(unclass(cmp)), check.names = FALSE, row.names = NULL)
}

# A loo (or waic) object rebuilt from R's numbers carried to Python in an ArviZ ELPDData:
# the estimate and SE of elpd and of p, the pointwise elpd. The information criterion is
# -2 elpd (its SE 2 SE), exactly as loo computes it (scaling by 2 is exact in floating point).
# loo_compare reads nothing else.
pybrms_loo_rebuild <- function(kind, elpd, se, p, se_p, elpd_i, n_samples) {
  rows <- if (kind == "loo") c("elpd_loo", "p_loo", "looic") else c("elpd_waic", "p_waic", "waic")
  est <- matrix(c(elpd, p, -2 * elpd, se, se_p, 2 * se), ncol = 2,
                dimnames = list(rows, c("Estimate", "SE")))
  pw <- cbind(elpd_i, -2 * elpd_i)
  colnames(pw) <- rows[c(1, 3)]
  cls <- if (kind == "loo") c("psis_loo", "importance_sampling_loo", "loo") else c("waic", "loo")
  structure(list(estimates = est, pointwise = pw), dims = c(n_samples, nrow(pw)), class = cls)
}

pybrms_loo_compare_rebuilt <- function(parts, names) {
  loos <- lapply(parts, function(p) {
    pybrms_loo_rebuild(p$kind, p$elpd, p$se, p$p, p$se_p, p$elpd_i, p$n_samples)
  })
  pybrms_loo_compare(loos, names)
}

pybrms_waic <- function(fit, args = list()) {
  args <- args[!vapply(args, is.null, logical(1))]
  w <- do.call(brms::waic, c(list(quote(fit)), args))
  est <- as.data.frame(w$estimates)
  list(
    estimates = data.frame(metric = rownames(est), est, check.names = FALSE, row.names = NULL),
    pointwise = as.data.frame(w$pointwise, check.names = FALSE),
    n_high_p_waic = sum(w$pointwise[, "p_waic"] > 0.4),
    n_samples = as.integer(dim(w)[1])
  )
}

# K-fold cross-validation: brms refits through update(), reusing the compiled program.
pybrms_kfold <- function(fit, args, seed = NULL) {
  args <- args[!vapply(args, is.null, logical(1))]
  pybrms_set_seed(seed)
  kf <- do.call(brms::kfold, c(list(fit), args))
  est <- as.data.frame(kf$estimates)
  list(
    estimates = data.frame(metric = rownames(est), est, check.names = FALSE, row.names = NULL),
    pointwise = data.frame(fold = as.integer(attr(kf, "folds")), kf$pointwise,
                           check.names = FALSE),
    K = as.integer(attr(kf, "K"))
  )
}

pybrms_R2 <- function(fit, which, probs, summary, seed = NULL) {
  fun <- switch(which, bayes_R2 = brms::bayes_R2, loo_R2 = brms::loo_R2)
  pybrms_set_seed(seed)
  r2 <- fun(fit, summary = summary, probs = probs)
  if (summary) as.data.frame(r2, check.names = FALSE) else as.numeric(r2)
}

pybrms_saved_all_pars <- function(fit) isTRUE(fit$save_pars$all)

# Bridge sampling of both fits after one set.seed, as brms::bayes_factor() does.
pybrms_bayes_factor <- function(fit1, fit2, seed = NULL, args = list()) {
  pybrms_set_seed(seed)
  b1 <- do.call(brms::bridge_sampler, c(list(fit1, silent = TRUE), args))
  b2 <- do.call(brms::bridge_sampler, c(list(fit2, silent = TRUE), args))
  bf <- bridgesampling::bf(b1, b2, log = FALSE)
  list(bf = bf$bf, logml_1 = b1$logml, logml_2 = b2$logml,
       niter_1 = b1$niter, niter_2 = b2$niter)
}

# emmeans: the estimated marginal means and, with `method`, their contrasts.
pybrms_emmeans <- function(fit, specs, at, method, level, type, by) {
  if (!requireNamespace("emmeans", quietly = TRUE)) stop("the R package 'emmeans' is not installed")
  a <- list(fit, specs = stats::as.formula(specs))
  if (length(at)) a$at <- at
  if (!is.null(type)) a$type <- type
  if (!is.null(by)) a$by <- by
  em <- do.call(emmeans::emmeans, a)
  out <- list(emmeans = as.data.frame(summary(em, level = level), check.names = FALSE))
  if (!is.null(method)) {
    out$contrasts <- as.data.frame(summary(emmeans::contrast(em, method = method), level = level),
                                   check.names = FALSE)
  }
  out
}

pybrms_conditional_effects <- function(fit, args, seed = NULL) {
  args <- args[!vapply(args, is.null, logical(1))]
  if (identical(args$re_formula, "NULL")) {
    args["re_formula"] <- list(NULL)
  } else if ("re_formula" %in% names(args)) {
    args$re_formula <- pybrms_re_formula(args$re_formula)
  }
  pybrms_set_seed(seed)
  ce <- do.call(brms::conditional_effects, c(list(fit), args))
  out <- lapply(ce, function(d) {
    d <- as.data.frame(d, check.names = FALSE)
    for (n in names(d)) if (is.factor(d[[n]])) d[[n]] <- as.character(d[[n]])
    d
  })
  list(data = out, response = attr(ce[[1]], "response"))
}

# What brms's pp_check() draws: y and the yrep rows it would pass to bayesplot.
pybrms_pp_data <- function(fit, ndraws, draw_ids, newdata, seed = NULL) {
  pybrms_set_seed(seed)
  y <- brms::get_y(fit, newdata = newdata)
  ids <- brms:::validate_draw_ids(fit, draw_ids, ndraws)
  yrep <- brms::posterior_predict(fit, newdata = newdata, draw_ids = ids)
  list(y = as.numeric(y), yrep = as.numeric(yrep), dim = dim(yrep),
       draw_ids = if (is.null(ids)) integer(0) else ids)
}

# Would brm() write a different Stan program for the new data (data-dependent default priors)?
pybrms_update_code_changes <- function(fit, newdata) {
  sp <- attr(fit$prior, "sample_prior")
  if (is.null(sp)) sp <- if (any(grepl("^prior_", posterior::variables(fit)))) "yes" else "no"
  # only the user's priors: brms fills the defaults again from the new data
  user <- fit$prior[fit$prior$source == "user", ]
  new <- suppressMessages(brms::make_stancode(
    fit$formula, data = newdata, prior = user, data2 = fit$data2,
    stanvars = fit$stanvars, sample_prior = sp,
    save_pars = fit$save_pars, normalize = brms:::is_normalized(fit$model)
  ))
  new <- sub("^[^\n]+\n", "", new)
  !identical(new, brms::stancode(fit, version = FALSE))
}

# update() with new data or sampling settings, never recompiling (brms's own route).
pybrms_update <- function(fit, newdata, args) {
  a <- c(list(fit, newdata = newdata, recompile = FALSE), args)
  do.call(stats::update, a)
}

pybrms_ndraws <- function(fit) brms::ndraws(fit)
