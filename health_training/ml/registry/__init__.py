"""The MLflow side: experiment tracking and registration, the adapter's pyfunc, the promotion
gate's pure policy, the comparison of a challenger with production, and promotions that cite it."""
