"""The only Streamlit code inside explorer: session state, cached wrappers, widgets."""
