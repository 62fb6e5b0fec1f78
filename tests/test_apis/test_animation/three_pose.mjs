// Pose a GLB with three.js (GLTFLoader, AnimationMixer, SkinnedMesh.getVertexPosition) and
// print, per requested time and skinned mesh (by name), the world positions of its named
// joints and skinned vertices.
// Usage: node three_pose.mjs NODE_MODULES FILE.glb TIME [TIME ...]
import fs from 'fs';
import path from 'path';
import { pathToFileURL } from 'url';

const [modules, file, ...times] = process.argv.slice(2);
const THREE = await import(pathToFileURL(path.join(modules, 'three', 'build', 'three.module.js')));
const { GLTFLoader } = await import(pathToFileURL(
  path.join(modules, 'three', 'examples', 'jsm', 'loaders', 'GLTFLoader.js')));

const data = fs.readFileSync(file);
const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
const gltf = await new Promise((resolve, reject) => new GLTFLoader().parse(buffer, '', resolve, reject));
const scene = gltf.scene;
const meshes = [];
scene.traverse((o) => { if (o.isSkinnedMesh) meshes.push(o); });
const mixer = new THREE.AnimationMixer(scene);
const action = mixer.clipAction(gltf.animations[0]);
action.setLoop(THREE.LoopOnce, 1);
action.clampWhenFinished = true;  // the last keyframe stays instead of wrapping to 0
action.play();
const out = [];
const target = new THREE.Vector3();
for (const t of times.map(Number)) {
  mixer.setTime(t);
  scene.updateMatrixWorld(true);
  const posed = {};
  for (const mesh of meshes) {
    const joints = {};
    for (const bone of mesh.skeleton.bones) {
      bone.getWorldPosition(target);
      joints[bone.name] = [target.x, target.y, target.z];
    }
    const count = mesh.geometry.attributes.position.count;
    const vertices = new Array(count * 3);
    for (let i = 0; i < count; i++) {
      mesh.getVertexPosition(i, target);
      target.applyMatrix4(mesh.matrixWorld);
      vertices[3 * i] = target.x; vertices[3 * i + 1] = target.y; vertices[3 * i + 2] = target.z;
    }
    posed[mesh.name] = { joints, vertices, morph: Array.from(mesh.morphTargetInfluences) };
  }
  out.push({ time: t, meshes: posed });
}
process.stdout.write(JSON.stringify(out));
