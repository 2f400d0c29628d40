"""Health checks of services through port-forwards: settings (config), actuator (fetch and parse
/actuator/health), grid (every configured service). Never imports textual."""
