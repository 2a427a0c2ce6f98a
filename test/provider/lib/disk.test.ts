// The disk rules (provider/lib/disk.ts), pure: reading `df -Pk` and `docker system df`, the
// preview's warning when COLIMA_DISK needs more than the Mac's volume has free, and the gate's
// report's warnings.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diskReportWarnings, diskSpaceWarning, humanSizeBytes, parseDfPk, parseDockerSystemDf } from "../../../provider/lib/disk";

const GiB = 1024 ** 3;
const DF =
  "Filesystem   1024-blocks      Used Available Capacity  Mounted on\n" +
  "/dev/disk3s5   482797652 261548116 209715200    56%    /System/Volumes/Data\n";

describe("disk rules (provider/lib/disk.ts)", () => {
  it("parseDfPk: the device, the mount point, size and Available in bytes", () => {
    assert.deepEqual(parseDfPk(DF), {
      filesystem: "/dev/disk3s5",
      mountedOn: "/System/Volumes/Data",
      sizeBytes: 482797652 * 1024,
      freeBytes: 200 * GiB,
    });
  });

  it("parseDfPk: a mount point with spaces is read whole (columns from the right of the numbers)", () => {
    const r = parseDfPk("Filesystem 1024-blocks Used Available Capacity  Mounted on\n/dev/disk5s1 1000 10 990 2%    /Volumes/Mac HD 2\n");
    assert.equal(r.mountedOn, "/Volumes/Mac HD 2");
    assert.equal(r.freeBytes, 990 * 1024);
  });

  it("parseDfPk: df's default output (512-blocks, inode columns) or two rows is refused, quoting it", () => {
    assert.throws(() => parseDfPk(DF.replace("1024-blocks", " 512-blocks")), /not one POSIX row/);
    assert.throws(() => parseDfPk(DF + DF.split("\n")[1] + "\n"), /not one POSIX row/);
    assert.throws(() => parseDfPk(""), /not one POSIX row/);
  });

  it("diskSpaceWarning: a new profile needs its whole disk; the warning names the setting, its value, the volume and its free space", () => {
    const space = parseDfPk(DF);
    assert.equal(diskSpaceWarning({ diskGiB: 200, space, user: "ops" }), undefined, "200 GiB fits in 200 GiB free");
    const w = diskSpaceWarning({ diskGiB: 201, space, user: "ops" });
    assert.match(
      w ?? "",
      /^COLIMA_DISK = 201 \(GiB\): a new data disk of 201 GiB is more than the 200\.0 GiB free on the volume \/System\/Volumes\/Data \(\/dev\/disk3s5\) holding ops's ~\/\.colima\. The disk is sparse/,
    );
  });

  it("diskSpaceWarning: a disk that grows needs only its growth; one that does not grow needs nothing", () => {
    const space = { ...parseDfPk(DF), freeBytes: 10 * GiB };
    assert.equal(diskSpaceWarning({ diskGiB: 100, currentGiB: 100, space, user: "ops" }), undefined);
    assert.equal(diskSpaceWarning({ diskGiB: 110, currentGiB: 100, space, user: "ops" }), undefined);
    assert.match(
      diskSpaceWarning({ diskGiB: 111, currentGiB: 100, space, user: "ops" }) ?? "",
      /growing the data disk from 100 to 111 GiB is more than the 10\.0 GiB free/,
    );
    // A secret COLIMA_DISK is never printed.
    const secret = diskSpaceWarning({ diskGiB: 111, currentGiB: 100, space, user: "ops", secret: true }) ?? "";
    assert.match(secret, /^COLIMA_DISK = \[secret\] \(GiB\): growing the data disk from \[secret\] to \[secret\] GiB/);
    assert.doesNotMatch(secret, /111|100 to/);
  });

  it("humanSizeBytes / parseDockerSystemDf: go-units' decimal sizes summed over the four types", () => {
    assert.equal(humanSizeBytes("0B"), 0);
    assert.equal(humanSizeBytes("7.05MB"), 7_050_000);
    assert.equal(humanSizeBytes("1.234GB"), 1_234_000_000);
    assert.equal(humanSizeBytes("512kB"), 512_000);
    assert.throws(() => humanSizeBytes("1.2GiB"), /not a size Docker writes/);
    const out = [
      '{"Active":"1","Reclaimable":"0B (0%)","Size":"7.05MB","TotalCount":"1","Type":"Images"}',
      '{"Active":"0","Reclaimable":"12kB (100%)","Size":"12kB","TotalCount":"1","Type":"Containers"}',
      '{"Active":"0","Reclaimable":"0B","Size":"1.5GB","TotalCount":"2","Type":"Local Volumes"}',
      '{"Active":"0","Reclaimable":"0B","Size":"0B","TotalCount":"0","Type":"Build Cache"}',
    ].join("\n");
    assert.equal(parseDockerSystemDf(`${out}\n`), 7_050_000 + 12_000 + 1_500_000_000);
    assert.throws(() => parseDockerSystemDf(""), /printed nothing/);
    assert.throws(() => parseDockerSystemDf("TYPE TOTAL ACTIVE SIZE RECLAIMABLE\n"), /not JSON/);
  });

  it("diskReportWarnings: Docker past DISK_WARN_PERCENT of the disk (0: never), and a Mac volume with less free than the disk", () => {
    const base = { diskSizeBytes: 100 * GiB, hostFreeBytes: 200 * GiB, warnPercent: 80, volume: "/System/Volumes/Data (/dev/disk3s5)" };
    assert.deepEqual(diskReportWarnings({ ...base, dockerUsedBytes: 80 * GiB }), [], "80 % is not past 80 %");
    const past = diskReportWarnings({ ...base, dockerUsedBytes: 81 * GiB });
    assert.equal(past.length, 1);
    assert.match(
      past[0] as string,
      /^Docker uses 81\.0 GiB of the VM's 100\.0 GiB data disk \(COLIMA_DISK\), more than DISK_WARN_PERCENT = 80%/,
    );
    assert.deepEqual(diskReportWarnings({ ...base, dockerUsedBytes: 99 * GiB, warnPercent: 0 }), [], "0: off");
    const low = diskReportWarnings({ ...base, dockerUsedBytes: 0, hostFreeBytes: 99 * GiB });
    assert.deepEqual(low, [
      "the Mac's volume /System/Volumes/Data (/dev/disk3s5) has 99.0 GiB free, less than the VM's 100.0 GiB data disk (COLIMA_DISK): the sparse disk can grow past what is free, and Docker's writes then fail",
    ]);
    assert.doesNotMatch(
      diskReportWarnings({ ...base, dockerUsedBytes: 90 * GiB, hostFreeBytes: GiB, secret: true }).join(" "),
      /100\.0 GiB/,
    );
  });
});
