// Placeholder: the Hummingbird application (buildApplication, routes, authenticators)
// arrives with the service-node issue (#3).
import AuthCore
