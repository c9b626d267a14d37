// Fault injection for tests (`server --fail-requests STATUSxCOUNT`): the first COUNT API requests get STATUS.
import BatchAPI
import Foundation

final class FaultInjector: @unchecked Sendable {
    let fault: (status: Int, count: Int)?
    /// Guards `left`: requests arrive on many connection threads at once.
    private let lock = NSLock()
    private var left: Int

    init(_ fault: (status: Int, count: Int)?) {
        self.fault = fault
        self.left = fault?.count ?? 0
    }

    /// Throws the injected fault while any are left.
    func fireIfDue() throws {
        guard let fault else { return }
        let fire: Bool = lock.withLock {
            guard left > 0 else { return false }
            left -= 1
            return true
        }
        if fire { throw GatewayError(StatusCode(httpStatus: fault.status), "injected fault", httpStatus: fault.status) }
    }
}
