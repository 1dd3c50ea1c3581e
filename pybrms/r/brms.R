# Building, compiling and sampling brms models: the three stages pybrms keeps apart so that
# a compiled Stan program can be cached and reused without ever reusing stale priors.

# Combine priors into one brmsprior: lists (prior, class, coef, ...) made by pybrms.prior() and
# brmsprior objects written as R code (pybrms.R("prior(normal(0, 5), class = b)")).
pybrms_priors <- function(priors) {
  if (length(priors) == 0L) return(brms::empty_prior())
  one <- function(p) {
    if (inherits(p, "brmsprior")) return(p)
    brms::set_prior(
      p$prior, class = p$class, coef = p$coef, group = p$group, resp = p$resp,
      dpar = p$dpar, nlpar = p$nlpar,
      lb = if (is.null(p$lb)) NA else p$lb, ub = if (is.null(p$ub)) NA else p$ub
    )
  }
  Reduce(`+`, lapply(priors, one))
}

# Build the brmsfit object without compiling: brms validates formula, family, priors and data
# and generates the Stan code (x$model) and everything brm() needs to sample later.
# `formula` and `family` arrive as R objects (evaluated from the user's code by the bridge).
pybrms_build <- function(formula, data, family, priors, args) {
  call_args <- c(
    list(formula = formula, data = data, family = family, prior = pybrms_priors(priors),
         empty = TRUE),
    args
  )
  brms::do_call(brms::brm, call_args)
}

# brms's default priors for a model (get_prior), as a plain data frame.
pybrms_get_prior <- function(formula, data, family, args) {
  keep <- intersect(names(args), c("autocor", "data2", "knots", "sparse", "drop_unused_levels"))
  p <- brms::do_call(brms::get_prior, c(list(formula = formula, data = data, family = family),
                                        args[keep]))
  as.data.frame(p)
}

# The priors a built model uses (user's and brms's defaults), as brms's prior_summary(all = TRUE).
pybrms_prior_table <- function(x) as.data.frame(brms::prior_summary(x, all = TRUE))

# The Stan program brms generated (without the version comment line).
pybrms_stancode <- function(x) {
  brms::stancode(x, version = FALSE)
}

# Parse a Stan program with Stan's own parser (rstan's stanc: seconds at most, no C++ compile).
# Returns list(ok, message): rstan reports a parse error as messages followed by an error
# ("failed to parse Stan model ... due to the above error"); both are kept, nothing is printed.
pybrms_stanc <- function(code) {
  msgs <- character()
  ok <- withCallingHandlers(
    tryCatch({
      rstan::stanc(model_code = code, model_name = "brms_model")
      TRUE
    }, error = function(e) {
      msgs <<- c(msgs, conditionMessage(e))
      FALSE
    }),
    message = function(m) {
      msgs <<- c(msgs, conditionMessage(m))
      invokeRestart("muffleMessage")
    }
  )
  list(ok = ok, message = paste(msgs, collapse = "\n"))
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
