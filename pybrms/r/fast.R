# What the fast engine (pybrms/engines/fast.py) takes from brms before it builds its PyMC
# model: brms's own prior table (defaults, data-dependent ones included, merged with the
# user's priors), brms's Stan data (design matrix, group-level index arrays and covariates;
# never a dense group matrix) and brms's description of the group-level terms, so the fast
# engine's model and names are brms's. No Stan program is generated or compiled.

# One call: list(prior = data.frame, standata = list, ranef = data.frame, levels = list).
pybrms_fast_build <- function(formula, data, family, link, priors) {
  f <- stats::as.formula(formula)
  fam <- brms::brmsfamily(family, link = link)
  prior <- pybrms_priors(priors)
  full <- brms::validate_prior(prior, formula = f, data = data, family = fam)
  sdata <- brms::make_standata(f, data = data, family = fam, prior = prior)
  re <- brms:::tidy_ranef(brms::brmsterms(brms::bf(f, family = fam)), data)
  levels <- attr(re, "levels")
  re_df <- if (nrow(re)) {
    data.frame(id = re$id, group = re$group, gn = re$gn, coef = re$coef, cn = re$cn,
               cor = re$cor, stringsAsFactors = FALSE)
  } else {
    data.frame(id = integer(0), group = character(0), gn = integer(0), coef = character(0),
               cn = integer(0), cor = logical(0), stringsAsFactors = FALSE)
  }
  sdata <- unclass(sdata)
  sdata$X_colnames <- colnames(sdata$X)
  list(
    prior = pybrms_fast_prior_frame(full),
    standata = sdata,
    ranef = re_df,
    levels = if (is.null(levels)) list() else lapply(levels, as.character)
  )
}

# brms's prior table (brmsprior) as a plain data frame with character columns.
pybrms_fast_prior_frame <- function(p) {
  df <- as.data.frame(p)
  keep <- c("prior", "class", "coef", "group", "resp", "dpar", "nlpar", "lb", "ub", "source")
  out <- df[, intersect(keep, names(df)), drop = FALSE]
  for (k in names(out)) out[[k]] <- as.character(out[[k]])
  attr(out, "special") <- NULL
  attr(out, "sample_prior") <- NULL
  rownames(out) <- NULL
  out
}

# The prior table brms used for a fitted model (prior_summary), for the tests.
pybrms_fast_prior_summary <- function(fit) {
  pybrms_fast_prior_frame(brms::prior_summary(fit, all = TRUE))
}
