# The lme4 engine: lmer (through lmerTest, for Satterthwaite p-values) and glmer, called the way
# an R script calls them, and reduced to what pybrms's tidy results need. Nothing else is
# computed after the fit (no per-group coefficients, fitted values or residuals).

# Fit one model. `family` is "gaussian" (lmer) or R code of a family for glmer; `control` is the
# argument text of lmerControl()/glmerControl() ("" for the defaults); `nagq` NULL for lme4's
# default. Returns list(model, coefs, varcorr, messages, warnings).
pybrms_lme4_fit <- function(formula, data, family, reml, control, nagq) {
  f <- stats::as.formula(formula)
  caught <- character(0)
  keep <- function(w) {
    caught <<- c(caught, conditionMessage(w))
    invokeRestart("muffleWarning")
  }
  gaussian <- identical(family, "gaussian")
  ctl_fun <- if (gaussian) "lmerControl" else "glmerControl"
  ctrl <- eval(parse(text = sprintf("lme4::%s(%s)", ctl_fun, control)))
  m <- withCallingHandlers({
    if (gaussian) {
      lmerTest::lmer(f, data = data, REML = reml, control = ctrl)
    } else {
      args <- list(f, data = data, family = eval(parse(text = family)), control = ctrl)
      if (!is.null(nagq)) args$nAGQ <- nagq
      do.call(lme4::glmer, args)
    }
  }, warning = keep)
  messages <- m@optinfo$conv$lme4$messages
  singular <- lme4::isSingular(m)
  # with calc.derivs = FALSE lme4 skips its checks; the singular-fit one is re-done here
  if (is.null(m@optinfo$conv$lme4) && singular) {
    messages <- "boundary (singular) fit: see help('isSingular')"
  }
  coefs <- withCallingHandlers(
    stats::coef(summary(m)),
    warning = keep
  )
  list(
    model = m,
    terms = rownames(coefs),
    coefs = unname(coefs),
    coef_names = colnames(coefs),
    varcorr = as.data.frame(lme4::VarCorr(m), order = "lower.tri"),
    messages = as.character(unlist(messages)),
    warnings = unique(caught),
    singular = singular
  )
}

pybrms_lme4_versions <- function() {
  list(
    R = paste(R.version$major, R.version$minor, sep = "."),
    lme4 = as.character(utils::packageVersion("lme4")),
    lmerTest = as.character(utils::packageVersion("lmerTest")),
    Matrix = as.character(utils::packageVersion("Matrix"))
  )
}
