"""scikit-learn reference: logistic regression stepped with MLPClassifier and fitted to its
optimum with LogisticRegression, beside the frameworks and never ranked among them."""
