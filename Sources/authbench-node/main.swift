import Foundation
import AuthNode

FileHandle.standardError.write(Data("authbench-node: not built yet: the service node is issue #3\n".utf8))
exit(2)
