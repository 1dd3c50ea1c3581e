# brms post-processing called from pybrms.brmsfit: predictions, log-likelihood, model
# comparison and plots' data, each returning plain arrays / data frames for the bridge.
