import Foundation
import LoadKit

FileHandle.standardError.write(Data("authbench-load: not built yet: the load generator is issue #4\n".utf8))
exit(2)
