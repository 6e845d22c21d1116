import Foundation
import TestSupport
import XCTest

/// `dfkd sweep --hostfile` without Slurm over network-namespace hosts (cluster/netns-hosts.sh):
/// started from host 1, the runs go to the hostfile's hosts 2 and 3, side by side, each run's
/// ranks on their own cores of one host.
final class HostfileSweepTests: XCTestCase {
    private let prefix = "dfkdsw\(getpid() % 10_000)h"
    private var scripts: String { TestFiles.repositoryRoot + "/cluster" }

    func testASweepRunsOverTheHostsOfAHostfile() throws {
        guard getuid() == 0 else { throw XCTSkip("network-namespace hosts need root") }
        let up = try Subprocess.run("/bin/bash", [scripts + "/netns-hosts.sh", "up", prefix, "3"])
        addTeardownBlock { [prefix, scripts] in _ = try? Subprocess.run("/bin/bash", [scripts + "/netns-hosts.sh", "down", prefix]) }
        XCTAssertEqual(up.status, 0, up.output)
        let sweep = try SweepFixture(grid: "  seed: [1, 2, 3]", ranks: 2)
        let hostfile = sweep.directory + "/hostfile"
        try "# two cores on each of two hosts\n10.99.0.2 slots=2\n10.99.0.3 slots=2\n".write(toFile: hostfile, atomically: true, encoding: .utf8)
        let result = try Subprocess.run("/bin/bash", [scripts + "/netns-hosts.sh", "run", prefix, "1", "timeout", "-k", "10", "240", DFKDCommand.binary]
                                        + sweep.arguments(["--hostfile", hostfile, "--rsh-agent", scripts + "/netns-rsh.sh", "--network", "10.99.0.0/24"]),
                                        environment: ["DFKD_NETNS_PREFIX": prefix])
        XCTAssertEqual(result.status, 0, result.output)
        // The first two runs side by side, one on each host; the third where a host came free.
        XCTAssertTrue(result.output.contains("run seed-1 started on 10.99.0.2, cores 0,1") && result.output.contains("run seed-2 started on 10.99.0.3, cores 0,1"),
                      result.output)
        var hosts: Set<Int> = []
        for run in ["seed-1", "seed-2", "seed-3"] {
            XCTAssertEqual(sweep.status(of: run), "finished", sweep.log(of: run))
            let log = sweep.log(of: run)
            // Each rank names its host and the core it is bound to.
            let host = try XCTUnwrap([2, 3].first { log.contains("ranks on hosts: 0 \(prefix)\($0) (cpus 0), 1 \(prefix)\($0) (cpus 1)") }, log)
            hosts.insert(host)
        }
        XCTAssertEqual(hosts, [2, 3])
        XCTAssertEqual(try sweep.summary().map { $0["state"] }, ["finished", "finished", "finished"])
    }
}
