"""The web dashboard: server-rendered pages in Chinese (English on request), charts with ECharts."""
