# Building, compiling and sampling brms models: the three stages pybrms keeps apart so that
# a compiled Stan program can be cached and reused without ever reusing stale priors.

# Combine a list of prior specifications (lists with prior, class, coef, ...) into a brmsprior.
pybrms_priors <- function(priors) {
  if (length(priors) == 0L) return(brms::empty_prior())
  one <- function(p) {
    brms::set_prior(
      p$prior, class = p$class, coef = p$coef, group = p$group, resp = p$resp,
      dpar = p$dpar, nlpar = p$nlpar,
      lb = if (is.null(p$lb)) NA else p$lb, ub = if (is.null(p$ub)) NA else p$ub
    )
  }
  Reduce(`+`, lapply(priors, one))
}

# Build the brmsfit object without compiling: validates formula, data and priors in brms,
# and holds the Stan code (x$model) and everything brm() needs to sample later.
pybrms_build <- function(formula, data, family, link, priors, args) {
  call_args <- c(
    list(
      formula = stats::as.formula(formula), data = data,
      family = brms::brmsfamily(family, link = link),
      prior = pybrms_priors(priors), empty = TRUE
    ),
    args
  )
  brms::do_call(brms::brm, call_args)
}

# The Stan program brms generated (without the version comment line).
pybrms_stancode <- function(x) {
  brms::stancode(x, version = FALSE)
}

# Compile a Stan program exactly as brms's rstan backend does.
pybrms_compile <- function(code) {
  rstan::stan_model(model_code = code)
}

# Sample from a built brmsfit with a compiled model through brm(fit = ...), brms's own
# route for reusing a compiled program (what update(recompile = FALSE) does).
pybrms_sample <- function(x, model, args) {
  x$fit <- methods::new("stanfit", stanmodel = model)
  brms::do_call(brms::brm, c(list(fit = x), args))
}

pybrms_save_rds <- function(object, path) {
  saveRDS(object, path)
  invisible(TRUE)
}

pybrms_read_rds <- function(path) readRDS(path)
