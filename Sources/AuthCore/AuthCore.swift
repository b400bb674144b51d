// Placeholder: users, sessions, JWT key ring, refresh-token families and the revocation
// list arrive with the service-node issue (#3). The target exists so the package has the
// shape DESIGN.md draws and the dependency arrows are fixed from the start.
import RedisClient
